import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from '../../src/delivery/channel-registry.js';
import { ChannelState } from '../../src/delivery/channel-state.js';
import { MemoryLogStore } from '@tether/server';
import type { StoredMessage } from '../../src/store/types.js';

const message = (offset: number): StoredMessage => ({ id: `m${offset}`, offset, type: 't', data: offset, ts: 0 });

describe('ChannelState ring', () => {
  it('keeps the last `capacity` messages, growing as needed, and answers ranges only when complete', () => {
    const state = new ChannelState('t/c', 't', 'c', { epoch: 'e', head: 0, first: 1 }, 100);
    for (let offset = 1; offset <= 250; offset++) state.record(message(offset), offset);
    expect(state.head).toBe(250);
    // Capacity 100 (grown from 8 through 16, 32, 64 to 100): 151..250 are still there.
    expect(state.recentRange(150, 250)?.map((m) => m.offset)).toEqual(Array.from({ length: 100 }, (_, k) => 151 + k));
    expect(state.recentRange(149, 250)).toBeUndefined();
    expect(state.recent(150)).toBeUndefined();
    expect(state.recent(250)).toEqual({ message: message(250), sentAt: 250 });
    expect(state.recentRange(250, 250)).toEqual([]);
  });

  it('keeps when it was last active to the second, and the registry evicts it a full idle time after', async () => {
    const state = new ChannelState('t/c', 't', 'c', { epoch: 'e', head: 0, first: 1 }, 8);
    state.record(message(1), 1_700_000_012_345);
    expect(state.lastActiveAt).toBe(1_700_000_012_000);
    state.record(message(2), 1_700_000_013_999);
    expect(state.lastActiveAt).toBe(1_700_000_013_000);
    const store = new MemoryLogStore();
    await store.append('t/c', [{ id: 'a', type: 't', data: 1, ts: 0 }]);
    const registry = new ChannelRegistry(store, 8);
    const written = await registry.get('t', 'c');
    written.record(message(1), 1_700_000_012_345);
    registry.evictIdle(1_700_000_071_999, 60_000, () => false);
    expect(registry.peek('t/c')).toBe(written);
    registry.evictIdle(1_700_000_072_000, 60_000, () => false);
    expect(registry.peek('t/c')).toBeUndefined();
  });

  it('forgets everything on a new epoch', () => {
    const state = new ChannelState('t/c', 't', 'c', { epoch: 'e', head: 0, first: 1 }, 16);
    for (let offset = 1; offset <= 5; offset++) state.record(message(offset), 0);
    state.restart('e2', 0);
    expect(state.epoch).toBe('e2');
    expect(state.head).toBe(0);
    expect(state.recent(5)).toBeUndefined();
  });

  it('moves the send time of a range still in the ring (a chunked broadcast ended then)', () => {
    const state = new ChannelState('t/c', 't', 'c', { epoch: 'e', head: 0, first: 1 }, 8);
    for (let offset = 1; offset <= 12; offset++) state.record(message(offset), 100);
    state.markSent(2, 12, 500);
    expect(state.recent(4)).toBeUndefined(); // out of the ring: nothing to move
    expect(state.recent(5)?.sentAt).toBe(500);
    expect(state.recent(12)?.sentAt).toBe(500);
    state.markSent(12, 12, 900);
    expect(state.recent(11)?.sentAt).toBe(500);
    expect(state.recent(12)?.sentAt).toBe(900);
  });

  it("keeps each envelope's text for the message object it holds, encoded at most once", () => {
    const state = new ChannelState('t/c', 't', 'c', { epoch: 'e', head: 0, first: 1 }, 8);
    const held = message(1);
    state.record(held, 0, 'given');
    expect(state.envelopeJsonOf(held)).toBe('given');
    // Another object for the same offset (read back from the store): not the ring's to answer.
    expect(state.envelopeJsonOf(message(1))).toBeUndefined();
    const later = message(2);
    state.record(later, 0);
    expect(state.envelopeJsonOf(later)).toBe(JSON.stringify(later));
  });
});
