/**
 * The in-memory fixed-window limit (limits/window-counts.ts), on fake time: counts as
 * rate-limiter-flexible's memory limiter does, and forgets a key once its window ended.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WindowCounts } from '../src/limits/window-counts.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('WindowCounts', () => {
  it('lets `points` through in a window that starts at the key’s first point, then refuses until it ends', () => {
    let now = 1_000_000;
    const limit = new WindowCounts({ points: 3, durationMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) expect(limit.take('a')).toBeUndefined();
    now += 15_000;
    expect(limit.take('a')).toEqual({ retryAfterMs: 45_000 });
    expect(limit.take('b')).toBeUndefined(); // its own window
    now += 44_999;
    expect(limit.take('a')).toEqual({ retryAfterMs: 1 });
    now += 1;
    expect(limit.take('a')).toBeUndefined(); // a new window
  });

  it('counts every point, refused or not, and several at once', async () => {
    let now = 0;
    const limit = new WindowCounts({ points: 10, durationMs: 1000, now: () => now });
    expect(limit.take('ip', 8)).toBeUndefined();
    expect(await limit.consume('ip', 10)).toEqual({ retryAfterMs: 1000 });
    now += 500;
    expect(limit.take('ip')).toEqual({ retryAfterMs: 500 });
  });

  it('forgets keys whose window ended, with one timer that stops once none is left', () => {
    vi.useFakeTimers();
    const limit = new WindowCounts({ points: 1, durationMs: 60_000 });
    limit.take('a');
    vi.advanceTimersByTime(30_000);
    limit.take('b');
    expect(limit.size).toBe(2);
    vi.advanceTimersByTime(30_000); // a's window ended
    expect(limit.size).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(limit.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
