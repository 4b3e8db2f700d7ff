/**
 * The Redis PresenceStore against a private redis-server: first / last decisions, connection
 * ownership, purging a dead node exactly once among concurrent survivors, silent restore after
 * Redis lost its data, node leases, and `store_unavailable` while Redis is down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, TetherError } from '@tether/protocol';
import { startRedis, waitUntil, type RedisServer } from '@tether/testing';
import { RedisPresenceStore } from '../../src/presence/redis-presence-store.js';
import type { DeviceEntry, MembershipKey } from '../../src/presence/types.js';

let server: RedisServer;
let prefixes = 0;
const opened: RedisPresenceStore[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

/** Stores of one fresh key prefix: as many nodes' connections to one presence. */
function stores(n: number): RedisPresenceStore[] {
  prefixes += 1;
  return Array.from({ length: n }, () => {
    const store = new RedisPresenceStore(server.url, { keyPrefix: `p${prefixes}:` });
    opened.push(store);
    return store;
  });
}

const T = 'acme';

function device(
  sub: string,
  deviceId: string,
  connId: string,
  nodeId = 'node-a',
  extra: Partial<DeviceEntry> = {},
): DeviceEntry {
  return { tenant: T, sub, deviceId, connId, nodeId, status: 'online', lastActiveAt: 1000, ...extra };
}

function membership(channel: string, d: DeviceEntry): MembershipKey {
  return { tenant: d.tenant, channel, sub: d.sub, deviceId: d.deviceId, connId: d.connId, nodeId: d.nodeId };
}

/** A user connected with one device on `nodeId`, in `channels`. */
async function connect(store: RedisPresenceStore, d: DeviceEntry, channels: string[]): Promise<void> {
  await store.upsertDevice(d);
  for (const channel of channels) await store.join(membership(channel, d));
}

describe('redis presence: devices and status', () => {
  it('the first device brings the user online; a second does not; busy wins, then the most active device', async () => {
    const [store] = stores(1);
    expect(await store!.statusOf(T, 'ann')).toBe('offline');
    expect(await store!.upsertDevice(device('ann', 'phone', 'c1', 'node-a', { status: 'away' }))).toEqual({
      first: true,
      status: 'away',
      previous: 'offline',
    });
    expect(await store!.upsertDevice(device('ann', 'laptop', 'c2', 'node-a', { status: 'idle' }))).toEqual({
      first: false,
      status: 'idle',
      previous: 'away',
    });
    expect((await store!.upsertDevice(device('ann', 'phone', 'c1', 'node-a', { status: 'busy' }))).status).toBe('busy');
    expect((await store!.upsertDevice(device('ann', 'laptop', 'c2', 'node-a', { status: 'online' }))).status).toBe(
      'busy',
    );
    expect((await store!.upsertDevice(device('ann', 'phone', 'c1', 'node-a', { status: 'away' }))).status).toBe(
      'online',
    );
    expect((await store!.devicesOf(T, 'ann')).map((d) => [d.deviceId, d.connId, d.status])).toEqual([
      ['laptop', 'c2', 'online'],
      ['phone', 'c1', 'away'],
    ]);
  });

  it('removes a device only for the connection that owns it; the last one takes the user offline', async () => {
    const [store] = stores(1);
    await store!.upsertDevice(device('bob', 'phone', 'c1'));
    await store!.upsertDevice(device('bob', 'laptop', 'c2', 'node-a', { status: 'idle' }));
    // A reload elsewhere replaced the phone's entry: the old connection's late removal changes nothing.
    await store!.upsertDevice(device('bob', 'phone', 'c3', 'node-b'));
    expect(await store!.removeDevice(T, 'bob', 'phone', 'c1')).toEqual({
      removed: false,
      last: false,
      status: 'online',
      previous: 'online',
    });
    expect(await store!.removeDevice(T, 'bob', 'phone', 'c3')).toEqual({
      removed: true,
      last: false,
      status: 'idle',
      previous: 'online',
    });
    expect(await store!.removeDevice(T, 'bob', 'laptop', 'c2')).toEqual({
      removed: true,
      last: true,
      status: 'offline',
      previous: 'idle',
    });
    expect(await store!.removeDevice(T, 'bob', 'laptop', 'c2')).toMatchObject({ removed: false, last: false });
    expect(await store!.devicesOf(T, 'bob')).toEqual([]);
  });
});

describe('redis presence: channel memberships', () => {
  it('first device joins, last device leaves; members count users with their devices and status', async () => {
    const [a, b] = stores(2);
    const phone = device('ann', 'phone', 'c1', 'node-a');
    const laptop = device('ann', 'laptop', 'c2', 'node-b', { status: 'busy' });
    await a!.upsertDevice(phone);
    await b!.upsertDevice(laptop);
    expect(await a!.join(membership('room:1', phone))).toEqual({ first: true });
    expect(await b!.join(membership('room:1', laptop))).toEqual({ first: false });
    // The same membership again (a re-subscribe) is no new device.
    expect(await a!.join(membership('room:1', phone))).toEqual({ first: false });
    await b!.join(membership('room:2', laptop));
    expect(await a!.members(T, 'room:1')).toEqual([{ sub: 'ann', status: 'busy', devices: 2 }]);
    expect(await b!.count(T, 'room:1')).toBe(1);
    expect(await a!.channelsOf(T, 'ann')).toEqual(['room:1', 'room:2']);

    // A stale connection changes nothing; the owner's leave does.
    expect(await a!.leave({ ...membership('room:1', phone), connId: 'old' })).toEqual({ removed: false, last: false });
    expect(await a!.leave(membership('room:1', phone))).toEqual({ removed: true, last: false });
    expect(await a!.members(T, 'room:1')).toEqual([{ sub: 'ann', status: 'busy', devices: 1 }]);
    expect(await b!.leave(membership('room:1', laptop))).toEqual({ removed: true, last: true });
    expect(await a!.members(T, 'room:1')).toEqual([]);
    expect(await a!.count(T, 'room:1')).toBe(0);
    expect(await a!.channelsOf(T, 'ann')).toEqual(['room:2']);
  });

  it('keeps names apart whatever they contain (colons, braces, the separator of compound fields)', async () => {
    const [store] = stores(1);
    const odd = [
      { tenant: 'a:b', sub: 'c' },
      { tenant: 'a', sub: 'b:c' },
      { tenant: 'a', sub: '1:x}{' },
      { tenant: 'a', sub: '1' },
    ];
    for (const [i, who] of odd.entries()) {
      const d = { ...device(who.sub, `d:${i}`, `c${i}`), tenant: who.tenant };
      await store!.upsertDevice(d);
      await store!.join(membership('x:{y}', d));
    }
    expect(await store!.members('a', 'x:{y}')).toEqual([
      { sub: '1', status: 'online', devices: 1 },
      { sub: '1:x}{', status: 'online', devices: 1 },
      { sub: 'b:c', status: 'online', devices: 1 },
    ]);
    expect(await store!.count('a:b', 'x:{y}')).toBe(1);
    expect(await store!.channelsOf('a', '1:x}{')).toEqual(['x:{y}']);
    expect((await store!.devicesOf('a', '1')).map((d) => d.deviceId)).toEqual(['d:3']);
  });
});

describe('redis presence: a node gone', () => {
  it('of three survivors purging at once, exactly one gets the users back; entries of live nodes stay', async () => {
    const [a, b, c, d] = stores(4);
    // node-x dies. ann: only there (goes offline). bob: a phone there, a laptop on node-b (stays
    // online, leaves room:1 where only the phone was). cid: moved from node-x to node-c by a reconnect.
    const ann = device('ann', 'phone', 'x1', 'node-x');
    const bobPhone = device('bob', 'phone', 'x2', 'node-x');
    const bobLaptop = device('bob', 'laptop', 'b1', 'node-b');
    await connect(d!, ann, ['room:1', 'room:2']);
    await connect(d!, bobPhone, ['room:1', 'room:2']);
    await connect(b!, bobLaptop, ['room:2']);
    await connect(d!, device('cid', 'tab', 'x3', 'node-x'), ['room:1']);
    await connect(c!, device('cid', 'tab', 'c1', 'node-c'), ['room:1']);

    const answers = await Promise.all([a!.purgeNode('node-x'), b!.purgeNode('node-x'), c!.purgeNode('node-x')]);
    const winners = answers.filter((purged) => purged.length > 0);
    expect(winners).toHaveLength(1);
    const byUser = [...winners[0]!].sort((p, q) => (p.sub < q.sub ? -1 : 1));
    expect(byUser).toEqual([
      { tenant: T, sub: 'ann', leftChannels: ['room:1', 'room:2'], offline: true },
      { tenant: T, sub: 'bob', leftChannels: ['room:1'], offline: false },
    ]);
    expect(await a!.members(T, 'room:1')).toEqual([{ sub: 'cid', status: 'online', devices: 1 }]);
    expect(await a!.members(T, 'room:2')).toEqual([{ sub: 'bob', status: 'online', devices: 1 }]);
    expect(await a!.statusOf(T, 'ann')).toBe('offline');
    expect(await a!.channelsOf(T, 'ann')).toEqual([]);
    expect(await a!.channelsOf(T, 'bob')).toEqual(['room:2']);
    expect((await a!.devicesOf(T, 'cid')).map((e) => e.nodeId)).toEqual(['node-c']);
    // Later calls find nothing left to purge.
    expect(await a!.purgeNode('node-x')).toEqual([]);
  });

  it('a purge of a node with no entries answers nothing', async () => {
    const [store] = stores(1);
    expect(await store!.purgeNode('never-seen')).toEqual([]);
  });
});

describe('redis presence: restore', () => {
  it('refills an emptied Redis silently and idempotently: later joins and removals see the restored entries', async () => {
    const [store] = stores(1);
    const phone = device('ann', 'phone', 'c1', 'node-a', { status: 'idle' });
    const laptop = device('ann', 'laptop', 'c2', 'node-a');
    const rooms = [membership('room:1', phone), membership('room:1', laptop), membership('room:2', phone)];
    await server.command('FLUSHDB');
    await store!.restore([phone, laptop], rooms);
    await store!.restore([phone, laptop], rooms); // twice: nothing doubles
    expect(await store!.members(T, 'room:1')).toEqual([{ sub: 'ann', status: 'online', devices: 2 }]);
    expect(await store!.channelsOf(T, 'ann')).toEqual(['room:1', 'room:2']);
    expect(await store!.join(membership('room:2', phone))).toEqual({ first: false });
    expect(await store!.upsertDevice(phone)).toMatchObject({ first: false });
    // What is there is left as it is: a restore does not bring back an older entry over a newer one.
    await store!.upsertDevice({ ...phone, connId: 'c9', status: 'away' });
    await store!.restore([phone], []);
    expect((await store!.devicesOf(T, 'ann')).find((d) => d.deviceId === 'phone')?.connId).toBe('c9');
    // And the restored entries are indexed: a purge of their node finds them.
    const purged = await store!.purgeNode('node-a');
    expect(purged).toEqual([{ tenant: T, sub: 'ann', leftChannels: ['room:1', 'room:2'], offline: true }]);
  });
});

describe('redis presence: reconciling a node with its live entries', () => {
  it('removes the node’s entries that are no longer live and answers who left; live and moved entries stay', async () => {
    const [store] = stores(1);
    const ann = device('ann', 'phone', 'a1', 'node-a');
    const bob = device('bob', 'phone', 'a2', 'node-a');
    const bobLaptop = device('bob', 'laptop', 'a3', 'node-a');
    await connect(store!, ann, ['room:1']);
    await connect(store!, bob, ['room:1', 'room:2']);
    await connect(store!, bobLaptop, ['room:2']);
    await connect(store!, device('cid', 'tab', 'a4', 'node-a'), ['room:1']);
    await connect(store!, device('cid', 'tab', 'b1', 'node-b'), ['room:1']); // moved away from node-a
    // node-a's tracker holds ann, bob's laptop (in room:2), and ann reconnected (new connId): the rest is stale.
    const live = {
      devices: [{ ...ann, connId: 'a9' }, bobLaptop],
      memberships: [membership('room:2', bobLaptop), { ...membership('room:1', ann), connId: 'a9' }],
    };
    expect(await store!.reconcileNode('node-a', live)).toEqual([
      { tenant: T, sub: 'bob', leftChannels: ['room:1'], offline: false },
    ]);
    expect(await store!.members(T, 'room:1')).toEqual([
      { sub: 'ann', status: 'online', devices: 1 },
      { sub: 'cid', status: 'online', devices: 1 },
    ]);
    expect(await store!.members(T, 'room:2')).toEqual([{ sub: 'bob', status: 'online', devices: 1 }]);
    expect((await store!.devicesOf(T, 'bob')).map((d) => d.deviceId)).toEqual(['laptop']);
    expect(await store!.channelsOf(T, 'bob')).toEqual(['room:2']);
    // Once more: nothing left to remove.
    expect(await store!.reconcileNode('node-a', live)).toEqual([]);
    // Nothing live: the rest goes, ann and bob go offline.
    const rest = await store!.reconcileNode('node-a', { devices: [], memberships: [] });
    expect([...rest].sort((p, q) => (p.sub < q.sub ? -1 : 1))).toEqual([
      { tenant: T, sub: 'ann', leftChannels: ['room:1'], offline: true },
      { tenant: T, sub: 'bob', leftChannels: ['room:2'], offline: true },
    ]);
  });
});

describe('redis presence: node leases', () => {
  const LEASE_MS = 1_000;
  it('a node without a lease is expired for the others; renewing says whether the lease had been lost', async () => {
    const [a, b] = stores(2);
    expect(await a!.renewLease('node-a', 60_000)).toBe(true); // new
    expect(await a!.renewLease('node-a', 60_000)).toBe(false);
    // Redis expires keys in its own real time: a lease long enough to outlive the next command on a
    // loaded box (50 ms did not), then waited out.
    expect(await b!.renewLease('node-b', LEASE_MS)).toBe(true);
    expect(await a!.expiredNodes('node-a')).toEqual([]);
    const expired = await waitUntil(
      async () => {
        const nodes = await a!.expiredNodes('node-a');
        return nodes.length > 0 ? nodes : undefined;
      },
      LEASE_MS + 5_000,
      'node-b expired',
    );
    expect(expired).toEqual(['node-b']);
    expect(await b!.expiredNodes('node-b')).toEqual([]); // never itself
    expect(await a!.purgeNode('node-b')).toEqual([]); // owned nothing; now forgotten
    expect(await a!.expiredNodes('node-a')).toEqual([]);
    await server.command('FLUSHDB'); // Redis lost everything: the next renewal says so
    expect(await a!.renewLease('node-a', 60_000)).toBe(true);
  });
});

describe('redis presence: Redis down', () => {
  it('rejects with store_unavailable, and works again once Redis is back', async () => {
    const [store] = stores(1);
    await store!.upsertDevice(device('ann', 'phone', 'c1'));
    await server.kill();
    try {
      const error = await store!.statusOf(T, 'ann').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(TetherError);
      expect((error as TetherError).code).toBe(ErrorCode.StoreUnavailable);
    } finally {
      await server.restart();
    }
    await expect.poll(() => store!.statusOf(T, 'ann').catch(() => 'down'), { timeout: 10_000 }).toBe('offline');
  });
});

describe('redis presence: the per-node index', () => {
  it('holds only live entries: removals and moves take theirs out, so connection churn does not grow it', async () => {
    const [store] = stores(1);
    const indexOf = async (nodeId: string): Promise<number> =>
      Number(await server.command('SCARD', `{${store!.keyPrefix}pn:${nodeId}}:i`));
    for (let i = 0; i < 20; i++) {
      const d = device('ann', 'phone', `c${i}`, 'node-a');
      await connect(store!, d, ['room:1', 'room:2']);
      await store!.leave(membership('room:1', d));
      await store!.leave(membership('room:2', d));
      await store!.removeDevice(T, 'ann', 'phone', `c${i}`);
    }
    expect(await indexOf('node-a')).toBe(0);
    // A device that moved to another node leaves the old node's index.
    await connect(store!, device('bob', 'tab', 'a1', 'node-a'), ['room:1']);
    await connect(store!, device('bob', 'tab', 'b1', 'node-b'), ['room:1']);
    expect(await indexOf('node-a')).toBe(0);
    expect(await indexOf('node-b')).toBe(2);
  });
});
