/**
 * Channel presence on a real server (docs/presence.md): per user, not per device; a leave only
 * after the grace period; a reload inside it sends nothing; snapshots then diffs; counts-only
 * channels; batching. "Nothing was sent" is shown with a barrier: after waiting past the grace
 * period, another user joins, and the watcher's frames up to that join must hold nothing else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isErrorReply, startServer, type TestServer } from '@tether/testing';
import { diffsOf, presenceClient, sleep, subsOf, type PresenceClient } from './presence-helpers.js';

const GRACE_MS = 300;
/** Past the grace period and a batching window, with room for a loaded box. */
const PAST_GRACE_MS = GRACE_MS * 3;

let srv: TestServer;
const open: PresenceClient[] = [];
beforeAll(async () => {
  srv = await startServer({
    presence: {
      channels: [
        { pattern: 'room:*', mode: 'members' },
        { pattern: 'lobby:*', mode: 'counts' },
      ],
      graceMs: GRACE_MS,
      batchMs: 20,
      countsIntervalMs: 100,
    },
  });
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(async () => {
  await srv?.close();
});

async function user(sub: string, deviceId?: string): Promise<PresenceClient> {
  const c = await presenceClient(srv, { sub, channels: ['room:*', 'lobby:*'] }, deviceId ? { deviceId } : {});
  open.push(c);
  return c;
}

async function joined(sub: string, channel: string, deviceId?: string): Promise<PresenceClient> {
  const c = await user(sub, deviceId);
  expect(isErrorReply(await c.sub(channel))).toBe(false);
  return c;
}

/** A watcher in the channel, once its snapshot came (the window of its own join is behind it). */
async function watching(channel: string): Promise<PresenceClient> {
  const c = await joined('watcher', channel);
  await c.frame((f) => f.channel === channel && f.members?.some((m) => m.sub === 'watcher') === true);
  return c;
}

/** A barrier user joins; resolves with the watcher's diffs up to and including that join. */
async function upToBarrier(
  watcher: PresenceClient,
  channel: string,
  from: number,
  barrier: string,
): Promise<unknown[]> {
  await joined(barrier, channel);
  const at = watcher.frames.indexOf(await watcher.frame((f) => f.join?.some((m) => m.sub === barrier) === true, from));
  return diffsOf(watcher.frames.slice(from, at + 1), channel);
}

describe('channel presence per user', () => {
  it('two devices: one join; the first device closing sends nothing; the last one leave after the grace period', async () => {
    const channel = 'room:devices';
    const watcher = await watching(channel);
    const from = watcher.frames.length;
    const phone = await joined('ann', channel, 'ann-phone');
    await watcher.frame((f) => f.join?.some((m) => m.sub === 'ann') === true, from);
    const laptop = await joined('ann', channel, 'ann-laptop');

    phone.close();
    await sleep(PAST_GRACE_MS);
    const quiet = await upToBarrier(watcher, channel, from, 'bob');
    expect(quiet).toEqual([
      { channel, count: 2, join: [{ sub: 'ann', status: 'online', devices: 1 }] },
      { channel, count: 3, join: [{ sub: 'bob', status: 'online', devices: 1 }] },
    ]);

    const closedAt = Date.now();
    const before = watcher.frames.length;
    laptop.close();
    const leave = await watcher.frame((f) => f.leave !== undefined, before);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(leave).toEqual({ channel, count: 2, leave: ['ann'] });
    await sleep(PAST_GRACE_MS);
    expect(diffsOf(watcher.frames.slice(before), channel)).toEqual([leave]);
  });

  it('a reload inside the grace period (same device, new connection) sends nothing', async () => {
    const channel = 'room:reload';
    const watcher = await watching(channel);
    const tab = await joined('cat', channel, 'cat-tab');
    await watcher.frame((f) => f.join?.some((m) => m.sub === 'cat') === true);
    const from = watcher.frames.length;
    tab.close();
    const reloaded = await joined('cat', channel, 'cat-tab');
    await sleep(PAST_GRACE_MS);
    expect(await upToBarrier(watcher, channel, from, 'dan')).toEqual([
      { channel, count: 3, join: [{ sub: 'dan', status: 'online', devices: 1 }] },
    ]);
    const members = await reloaded.members(channel);
    expect(isErrorReply(members) ? members : subsOf(members.members)).toEqual(['cat', 'dan', 'watcher']);
  });

  it('a status change reaches the other members as one update; the reply is the user’s status', async () => {
    const channel = 'room:status';
    const watcher = await watching(channel);
    const eve = await joined('eve', channel, 'eve-1');
    const eve2 = await joined('eve', channel, 'eve-2');
    await watcher.frame((f) => f.join?.some((m) => m.sub === 'eve') === true);
    const from = watcher.frames.length;
    expect(await eve.status({ status: 'busy' })).toEqual({ status: 'busy' });
    const update = await watcher.frame((f) => f.update !== undefined, from);
    expect(update).toEqual({ channel, count: 2, update: [{ sub: 'eve', status: 'busy', devices: 2 }] });
    // Another device going idle: busy still wins, nothing changes for the others.
    expect(await eve2.status({ status: 'idle' })).toEqual({ status: 'busy' });
    expect(await eve.status({ status: 'away' })).toEqual({ status: 'idle' });
    const idle = await watcher.frame((f) => f.update?.[0]?.status === 'idle', from);
    expect(diffsOf(watcher.frames.slice(from), channel)).toEqual([update, idle]);
  });
});

describe('snapshots, then diffs', () => {
  it('a subscriber gets a snapshot after its sub reply; after a forced reconnect its member list is right', async () => {
    const channel = 'room:snap';
    const fay = await joined('fay', channel);
    const gus = await user('gus', 'gus-1');
    const order: string[] = [];
    gus.socket.on('presence', (f) => void (f.members && order.push('snapshot')));
    // Recorded in the reply callback itself (an `await` would see it a microtask late).
    const reply = await new Promise((resolve) =>
      gus.socket.emit('sub', { channel }, (r) => {
        order.push('reply');
        resolve(r);
      }),
    );
    expect(isErrorReply(reply as object)).toBe(false);
    const snapshot = await gus.frame((f) => f.members !== undefined);
    expect(order).toEqual(['reply', 'snapshot']);
    expect(snapshot.count).toBe(2);
    expect(subsOf(snapshot.members)).toEqual(['fay', 'gus']);

    // Cut the connection; meanwhile hal joins and fay leaves for good.
    gus.close();
    await joined('hal', channel);
    fay.close();
    const back = await user('gus', 'gus-1');
    expect(isErrorReply(await back.sub(channel))).toBe(false);
    const fresh = await back.frame((f) => f.members !== undefined);
    expect(subsOf(fresh.members)).toContain('hal');
    expect(fresh.count).toBe(fresh.members!.length);
    // Then diffs: fay's leave after the grace period.
    const gone = await back.frame((f) => f.leave?.includes('fay') === true, 0, 5000);
    expect(gone.count).toBe(2);
    const current = await back.members(channel);
    expect(isErrorReply(current) ? current : subsOf(current.members)).toEqual(['gus', 'hal']);
  });

  it('a counts-only channel sends only counts, never who', async () => {
    const channel = 'lobby:big';
    const watcher = await joined('watcher', channel);
    expect(await watcher.frame((f) => f.channel === channel)).toEqual({ channel, count: 1 });
    const others = await Promise.all(['ivy', 'jon', 'kim'].map((sub) => joined(sub, channel)));
    await watcher.frame((f) => f.count === 4);
    expect(await watcher.members(channel)).toEqual({ channel, count: 4 });
    others[0]!.close();
    await watcher.frame((f) => f.count === 3);
    for (const f of watcher.frames) expect(Object.keys(f).sort()).toEqual(['channel', 'count']);
  });
});

describe('batching', () => {
  it('N joins within one window: one frame per member, carrying all N', async () => {
    const N = 20;
    const batched = await startServer({
      presence: { channels: [{ pattern: 'room:*' }], batchMs: 3000, maxBatchMs: 5000 },
    });
    const clients: PresenceClient[] = [];
    try {
      const claims = (sub: string): { sub: string; channels: string[] } => ({ sub, channels: ['room:*'] });
      const watcher = await presenceClient(batched, claims('watcher'));
      clients.push(watcher);
      expect(isErrorReply(await watcher.sub('room:crowd'))).toBe(false);
      // The watcher's own join is its own window: its snapshot comes when it has passed.
      await watcher.frame((f) => f.members !== undefined, 0, 10_000);
      const from = watcher.frames.length;
      const crowd = await Promise.all(Array.from({ length: N }, (_, i) => presenceClient(batched, claims(`u${i}`))));
      clients.push(...crowd);
      await Promise.all(crowd.map((c) => c.sub('room:crowd')));
      const frame = await watcher.frame((f) => f.join !== undefined, from, 10_000);
      expect(frame.join).toHaveLength(N);
      expect(frame.count).toBe(N + 1);
      // Each of the crowd: one snapshot of that window, holding everyone, and not the window's diff too.
      for (const c of crowd) {
        const snapshot = await c.frame((f) => f.members !== undefined, 0, 10_000);
        expect(snapshot.count).toBe(N + 1);
        expect(snapshot.members).toHaveLength(N + 1);
      }
      await sleep(500);
      const diffs = [watcher, ...crowd].map((c) => diffsOf(c.frames, 'room:crowd').length);
      expect(diffs).toEqual([1, ...crowd.map(() => 0)]);
    } finally {
      for (const c of clients) c.close();
      await batched.close();
    }
  });
});
