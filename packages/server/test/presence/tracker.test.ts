/**
 * The tracker on its own (no sockets), on fake timers: the grace period by connId, and the two
 * seams the cluster side uses — `applyPurged` (a dead node's users leave once) and `liveEntries`
 * (a store that came back empty is refilled). Two trackers on one store stand for two nodes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { presenceMemberOf, type PresenceChannelFrame } from '@tether/protocol';
import { MemoryPresenceStore } from '../../src/presence/memory-presence-store.js';
import { LocalLastSeen } from '../../src/presence/last-active.js';
import { resolvePresenceOptions } from '../../src/presence/presence-options.js';
import { PresenceTracker } from '../../src/presence/tracker.js';
import type { PresenceStore } from '../../src/presence/types.js';

const GRACE = 10_000;
let sent: { node: string; frame: PresenceChannelFrame; except: string[] }[];
let snapshots: { ids: string[]; frame: PresenceChannelFrame }[];

function node(nodeId: string, store: PresenceStore): PresenceTracker {
  return new PresenceTracker({
    store,
    options: resolvePresenceOptions({ channels: [{ pattern: 'room:*' }], graceMs: GRACE, batchMs: 10 })!,
    nodeId: () => nodeId,
    broadcast: (_tenant, _channel, frame, except) => sent.push({ node: nodeId, frame, except: [...except] }),
    sendSnapshot: (ids, frame) => snapshots.push({ ids: [...ids], frame }),
    lastSeen: new LocalLastSeen(),
    log: pino({ level: 'silent' }),
    now: () => Date.now(),
  });
}

const caller = (sub: string, deviceId: string): { tenant: string; sub: string; deviceId: string } => ({
  tenant: 't',
  sub,
  deviceId,
});

/** Opens a connection and subscribes it; runs the queued writes. */
async function join(tracker: PresenceTracker, connId: string, sub: string, deviceId: string): Promise<void> {
  tracker.connected(connId, caller(sub, deviceId));
  tracker.subscribed(connId, caller(sub, deviceId), 'room:a');
  await vi.advanceTimersByTimeAsync(20);
}

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  snapshots = [];
});
afterEach(() => vi.useRealTimers());

describe('PresenceTracker', () => {
  it('removes a gone device after graceMs, by its connId: a reconnect in time keeps everything', async () => {
    const store = new MemoryPresenceStore();
    const a = node('A', store);
    await join(a, 'c1', 'ann', 'phone');
    expect(sent.map((s) => s.frame.join?.map((m) => presenceMemberOf(m).sub))).toEqual([['ann']]);
    a.disconnected('c1');
    await vi.advanceTimersByTimeAsync(GRACE - 100);
    await join(a, 'c2', 'ann', 'phone'); // the reload
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(sent).toHaveLength(1);
    expect(await store.members('t', 'room:a')).toEqual([{ sub: 'ann', status: 'online', devices: 1 }]);

    a.disconnected('c2');
    await vi.advanceTimersByTimeAsync(GRACE - 1);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(sent.at(-1)?.frame).toEqual({ channel: 'room:a', count: 0, leave: ['ann'] });
    expect(await store.statusOf('t', 'ann')).toBe('offline');
    expect((await a.userPresence('t', 'ann')).lastSeen).toEqual(expect.any(Number));
    a.close();
  });

  it('subscribers of one moment share one snapshot, read after all their joins', async () => {
    const store = new MemoryPresenceStore();
    const a = node('A', store);
    for (const [conn, sub] of [
      ['c1', 'ann'],
      ['c2', 'bob'],
      ['c3', 'cat'],
    ] as const) {
      a.connected(conn, caller(sub, `${sub}-d`));
      a.subscribed(conn, caller(sub, `${sub}-d`), 'room:a');
    }
    await vi.advanceTimersByTimeAsync(50);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.ids).toEqual(['c1', 'c2', 'c3']);
    expect(snapshots[0]!.frame.count).toBe(3);
    expect([...(snapshots[0]!.frame.members ?? [])].sort()).toEqual(['ann', 'bob', 'cat']);
    // And one diff frame with the three joins, for the others in the room: not these three.
    expect(sent.map((s) => [s.frame.join?.length, s.except])).toEqual([[3, ['c1', 'c2', 'c3']]]);
    a.close();
  });

  it('a later subscriber: its own window’s snapshot, left out of that diff; entries in their short wire form', async () => {
    const store = new MemoryPresenceStore();
    const a = node('A', store);
    await join(a, 'c1', 'ann', 'phone');
    await join(a, 'c2', 'ann', 'laptop');
    await a.setStatus('c1', caller('ann', 'phone'), { status: 'busy' });
    await vi.advanceTimersByTimeAsync(50);
    snapshots = [];
    sent = [];
    await join(a, 'c3', 'bob', 'tab');
    expect(snapshots).toEqual([
      {
        ids: ['c3'],
        frame: { channel: 'room:a', count: 2, members: [{ sub: 'ann', status: 'busy', devices: 2 }, 'bob'] },
      },
    ]);
    expect(sent).toEqual([{ node: 'A', frame: { channel: 'room:a', count: 2, join: ['bob'] }, except: ['c3'] }]);
    a.close();
  });

  it('applyPurged: a dead node’s users leave once, from the one survivor that purged them', async () => {
    const store = new MemoryPresenceStore();
    const [a, b, c] = [node('A', store), node('B', store), node('C', store)];
    await join(a, 'a1', 'ann', 'laptop');
    await join(b, 'b1', 'bob', 'phone');
    await join(b, 'b2', 'ann', 'phone'); // ann has a device left on A
    sent = [];
    const [fromA, fromC] = await Promise.all([store.purgeNode('B'), store.purgeNode('B')]);
    a.applyPurged(fromA);
    c.applyPurged(fromC);
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.frame).toEqual({ channel: 'room:a', count: 1, leave: ['bob'] });
    expect((await store.members('t', 'room:a')).map((m) => m.sub)).toEqual(['ann']);
    for (const t of [a, b, c]) t.close();
  });

  it('liveEntries: this node’s devices and memberships, enough to refill an empty store', async () => {
    const store = new MemoryPresenceStore();
    const a = node('A', store);
    await join(a, 'a1', 'ann', 'laptop');
    await join(a, 'a2', 'cat', 'tab');
    await a.setStatus('a1', caller('ann', 'laptop'), { status: 'busy' });
    a.disconnected('a2'); // within its grace period: still live here
    const live = a.liveEntries();
    expect(live.devices.map((d) => [d.sub, d.status, d.nodeId]).sort()).toEqual([
      ['ann', 'busy', 'A'],
      ['cat', 'online', 'A'],
    ]);
    expect(live.memberships.map((m) => m.sub).sort()).toEqual(['ann', 'cat']);

    const empty = new MemoryPresenceStore();
    await empty.restore(live.devices, live.memberships);
    expect(await empty.members('t', 'room:a')).toEqual(await store.members('t', 'room:a'));
    expect(await empty.statusOf('t', 'ann')).toBe('busy');
    a.close();
  });
});
