/**
 * A connection's subscriptions: one kept inline, a Map from the second on. Whatever the shape,
 * it answers as a Map keyed by channel would, iterating in subscription order.
 */
import { describe, expect, it } from 'vitest';
import { ChannelState } from '../../src/delivery/channel-state.js';
import { Subscription } from '../../src/delivery/subscription.js';
import { SubscriptionTable } from '../../src/delivery/subscription-table.js';

const subOf = (channel: string, acked = 0) =>
  new Subscription(new ChannelState(`t/${channel}`, 't', channel, { epoch: 'e', head: 0, first: 1 }, 8), acked);

describe('SubscriptionTable', () => {
  it('holds one subscription, replaces it by channel, forgets it', () => {
    const table = new SubscriptionTable();
    expect(table.size).toBe(0);
    expect([...table.values()]).toEqual([]);
    const inbox = subOf('user:ana');
    table.set(inbox);
    expect(table.size).toBe(1);
    expect(table.get('user:ana')).toBe(inbox);
    expect(table.get('room:1')).toBeUndefined();
    expect(table.has('room:1')).toBe(false);
    const again = subOf('user:ana', 5);
    table.set(again);
    expect(table.size).toBe(1);
    expect(table.get('user:ana')).toBe(again);
    expect(table.delete('room:1')).toBe(false);
    expect(table.delete('user:ana')).toBe(true);
    expect(table.size).toBe(0);
    expect(table.get('user:ana')).toBeUndefined();
  });

  it('answers as a Map in subscription order with many, and back to one after deletes', () => {
    const table = new SubscriptionTable();
    const subs = ['user:ana', 'room:1', 'room:2', 'room:3'].map((channel) => subOf(channel));
    for (const sub of subs) table.set(sub);
    expect(table.size).toBe(4);
    expect([...table.values()]).toEqual(subs);
    expect(table.channels()).toEqual(['user:ana', 'room:1', 'room:2', 'room:3']);
    for (const sub of subs) expect(table.get(sub.state.channel)).toBe(sub);
    expect(table.delete('user:ana')).toBe(true);
    expect(table.delete('room:2')).toBe(true);
    expect(table.channels()).toEqual(['room:1', 'room:3']);
    expect(table.delete('room:1')).toBe(true);
    expect(table.delete('room:3')).toBe(true);
    expect(table.size).toBe(0);
    // Empty again: one subscription, then a second, as at the start.
    table.set(subs[2]!);
    table.set(subs[0]!);
    expect(table.channels()).toEqual(['room:2', 'user:ana']);
    table.clear();
    expect(table.size).toBe(0);
    expect([...table.values()]).toEqual([]);
  });
});
