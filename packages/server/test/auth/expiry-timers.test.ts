/**
 * One timer for every connection's token end (auth/expiry-timers.ts): each item ends once, at its
 * time and not before, in time order; a moved or removed end is honoured. Fake time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryTimers, type Expiring } from '../../src/auth/expiry-timers.js';

let timers: ExpiryTimers;
const ended: string[] = [];

function item(name: string): Expiring {
  return {
    expiryIndex: -1,
    expire: () => ended.push(name),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  timers = new ExpiryTimers();
  ended.length = 0;
});
afterEach(() => {
  timers.close();
  vi.useRealTimers();
});

describe('ExpiryTimers', () => {
  it('ends each item once, at its time, in time order, with one timer armed', () => {
    const names = ['e', 'b', 'd', 'a', 'c', 'f', 'g', 'h'];
    // Ends 1 s apart in name order, added out of order.
    for (const name of names) timers.set(item(name), 1_000_000 + (name.charCodeAt(0) - 96) * 1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['a']);
    vi.advanceTimersByTime(4000);
    expect(ended).toEqual(['a', 'b', 'c', 'd', 'e']);
    vi.advanceTimersByTime(10_000);
    expect(ended).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(timers.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a removed item never ends; a moved one ends at its new time only', () => {
    const a = item('a');
    const b = item('b');
    const c = item('c');
    timers.set(a, 1_001_000);
    timers.set(b, 1_002_000);
    timers.set(c, 1_003_000);
    timers.remove(a);
    timers.set(c, 1_000_500); // earlier than anything armed: the timer is re-armed for it
    timers.set(b, 1_010_000); // later
    expect(a.expiryIndex).toBe(-1);
    vi.advanceTimersByTime(500);
    expect(ended).toEqual(['c']);
    vi.advanceTimersByTime(8000);
    expect(ended).toEqual(['c']);
    vi.advanceTimersByTime(1500);
    expect(ended).toEqual(['c', 'b']);
    timers.remove(a); // twice, and after it ended: nothing
    timers.remove(b);
    expect(timers.size).toBe(0);
  });

  it('an end past the longest timer Node accepts fires no earlier than its time', () => {
    const far = 1_000_000 + 2 ** 31 + 5000;
    timers.set(item('far'), far);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(5001);
    expect(ended).toEqual(['far']);
  });

  it('removing items from anywhere in the heap keeps the rest in time order', () => {
    // 50 distinct end times in a scrambled order (37 and 50 share no factor).
    const items = Array.from({ length: 50 }, (_, i) => ({ at: 1_000_100 + ((i * 37) % 50) * 100, name: String(i) }));
    const handles = items.map(({ at, name }) => {
      const x = item(name);
      timers.set(x, at);
      return x;
    });
    handles.forEach((x, i) => i % 3 === 0 && timers.remove(x));
    vi.advanceTimersByTime(10_000);
    const expected = items
      .filter((_, i) => i % 3 !== 0)
      .sort((p, q) => p.at - q.at)
      .map((x) => x.name);
    expect(ended).toEqual(expected);
  });
});
