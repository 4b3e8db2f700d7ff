/**
 * The SDK's presence (docs/client.md, "Presence") against a real server: `client.presence` (idle and
 * away from activity, busy by hand) reaching the other members as `update`; `sub.members()` and the
 * join / leave / update / members events; the member list right after a forced reconnect; a
 * counts-only channel. The idle / away test runs the SDK on fake timers (vi.useFakeTimers) and the
 * server in its own process (real time: its heartbeats must not jump with the fake clock).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { io } from 'socket.io-client';
import type { PresenceMember } from '@tether/protocol';
import { startFaultProxy, startServerProcess, waitUntil, type ServerProcess } from '@tether/testing';
import type { PresenceStatusChange, Subscription, TetherClient } from '@tether/client';
import { Clients, fast } from './helpers.js';

let proc: ServerProcess;
const clients = new Clients();

beforeAll(async () => {
  proc = await startServerProcess({
    config: {
      presence: {
        channels: [
          { pattern: 'room:*', mode: 'members' },
          { pattern: 'hall:*', mode: 'counts' },
        ],
        graceMs: 500,
        batchMs: 20,
        countsIntervalMs: 50,
      },
    },
  });
}, 60_000);
afterEach(async () => {
  vi.useRealTimers();
  await clients.closeAll();
});
afterAll(async () => {
  await proc?.stop();
});

const statusOf = (sub: Subscription, who: string): string | undefined =>
  sub.members().find((m: PresenceMember) => m.sub === who)?.status;

async function client(sub: string, options: Record<string, unknown> = {}): Promise<TetherClient> {
  const token = await proc.token({ sub, channels: ['room:*', 'hall:*'] });
  const c = clients.make({
    url: proc.url,
    token,
    ...fast,
    // Engine.IO's heartbeat on real timers, so that fake time only moves the SDK's own clocks.
    socketFactory: (url, opts) => io(url, { ...opts, useNativeTimers: true }),
    probeIntervalMs: 3_600_000,
    ...options,
  });
  return c;
}

describe('client.presence', () => {
  it('idle after 5 min, away after 15, busy by hand, back online: each reaches the other members as update', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const watcher = await client('watcher', { presence: { trackActivity: false } });
    const room = watcher.subscribe('room:fake', () => {});
    const updates: string[] = [];
    room.on('update', ({ member }) => updates.push(`${member.sub}:${member.status}`));
    await watcher.connect();

    const ann = await client('ann');
    const changes: PresenceStatusChange[] = [];
    ann.presence.on('status', (change) => changes.push(change));
    ann.subscribe('room:fake', () => {});
    await ann.connect();
    await waitUntil(() => statusOf(room, 'ann'), 5000, 'ann in the watcher’s list');
    expect(ann.presence.status).toBe('online');

    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await waitUntil(() => (statusOf(room, 'ann') === 'idle' ? true : undefined), 5000, 'ann idle');
    await waitUntil(() => (ann.presence.status === 'idle' ? true : undefined));
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await waitUntil(() => (statusOf(room, 'ann') === 'away' ? true : undefined), 5000, 'ann away');
    await waitUntil(() => (ann.presence.status === 'away' ? true : undefined));

    ann.presence.set('busy');
    await waitUntil(() => (statusOf(room, 'ann') === 'busy' ? true : undefined), 5000, 'ann busy');
    // Activity does not end busy; clearing it does (to online: there was activity).
    ann.presence.markActive();
    ann.presence.set(null);
    await waitUntil(() => (statusOf(room, 'ann') === 'online' ? true : undefined), 5000, 'ann online');
    await waitUntil(() => (ann.presence.status === 'online' ? true : undefined));

    expect(changes).toEqual([
      { status: 'idle', previous: 'online' },
      { status: 'away', previous: 'idle' },
      { status: 'busy', previous: 'away' },
      { status: 'online', previous: 'busy' },
    ]);
    expect(updates).toEqual(['ann:idle', 'ann:away', 'ann:busy', 'ann:online']);
  });

  it('the status is sent again after a reconnect (the server keeps busy)', async () => {
    const watcher = await client('watcher', { presence: { trackActivity: false } });
    const room = watcher.subscribe('room:again', () => {});
    await watcher.connect();
    const bob = await client('bob', { deviceId: 'bob-phone' });
    bob.subscribe('room:again', () => {});
    await bob.connect();
    bob.presence.set('busy');
    await waitUntil(() => (statusOf(room, 'bob') === 'busy' ? true : undefined), 5000, 'bob busy');
    await bob.close();
    // A new instance of the same device (a reload), busy again by hand before it connects.
    const again = await client('bob', { deviceId: 'bob-phone' });
    again.presence.set('busy');
    again.subscribe('room:again', () => {});
    await again.connect();
    await waitUntil(() => (again.presence.status === 'busy' ? true : undefined), 5000, 'busy confirmed');
    expect(statusOf(room, 'bob')).toBe('busy');
  });
});

describe('sub.members() and the presence events', () => {
  it('join, update and leave once per user; the list is right after a forced reconnect', async () => {
    // The watcher goes through a fault proxy, to have its connection cut.
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: proc.port } });
    const watcher = await client('watcher', { presence: { trackActivity: false }, url: proxy.url });
    const room = watcher.subscribe('room:events', () => {});
    const seen: string[] = [];
    room.on('join', ({ member }) => seen.push(`join:${member.sub}`));
    room.on('leave', ({ sub }) => seen.push(`leave:${sub}`));
    room.on('update', ({ member }) => seen.push(`update:${member.sub}:${member.status}`));
    let lists = 0;
    room.on('members', ({ members, count }) => {
      lists++;
      expect(count).toBe(members.length);
    });
    await watcher.connect();
    await waitUntil(() => (room.memberCount === 1 ? true : undefined), 5000, 'own snapshot');

    const cat1 = await client('cat', { deviceId: 'cat-1' });
    cat1.subscribe('room:events', () => {});
    await cat1.connect();
    const cat2 = await client('cat', { deviceId: 'cat-2' });
    cat2.subscribe('room:events', () => {});
    await cat2.connect();
    await waitUntil(() => (room.memberCount === 2 ? true : undefined), 5000, 'cat joined');
    cat2.presence.set('busy');
    await waitUntil(() => (statusOf(room, 'cat') === 'busy' ? true : undefined), 5000, 'cat busy');
    expect(room.members().find((m) => m.sub === 'cat')).toEqual({ sub: 'cat', status: 'busy', devices: 2 });

    // The watcher's connection is cut; meanwhile cat leaves for good and dan joins.
    const reconnected = new Promise<void>((resolve) =>
      watcher.on('status', ({ from, to }) => from === 'reconnecting' && to === 'connected' && resolve()),
    );
    proxy.cut();
    await Promise.all([cat1.close(), cat2.close()]);
    const dan = await client('dan');
    dan.subscribe('room:events', () => {});
    await dan.connect();
    await waitUntil(
      () => {
        const subs = room
          .members()
          .map((m) => m.sub)
          .sort()
          .join(',');
        return subs === 'dan,watcher' ? true : undefined;
      },
      10_000,
      'the list after the reconnect and cat’s grace period',
    );
    await reconnected;
    await proxy.close();
    expect(seen.filter((e) => e === 'join:cat')).toHaveLength(1);
    // cat's leave came in the snapshot after the reconnect, or as a diff: never twice.
    expect(seen.filter((e) => e.startsWith('leave:cat')).length).toBeLessThanOrEqual(1);
    expect(seen).toContain('update:cat:busy');
    expect(lists).toBeGreaterThan(3);
  });

  it('a counts-only channel: memberCount, no members', async () => {
    const watcher = await client('watcher', { presence: { trackActivity: false } });
    const hall = watcher.subscribe('hall:big', () => {});
    await watcher.connect();
    const others = await Promise.all(['e1', 'e2', 'e3'].map((sub) => client(sub)));
    for (const other of others) other.subscribe('hall:big', () => {});
    await Promise.all(others.map((o) => o.connect()));
    await waitUntil(() => (hall.memberCount === 4 ? true : undefined), 5000, 'count of 4');
    expect(hall.members()).toEqual([]);
  });
});
