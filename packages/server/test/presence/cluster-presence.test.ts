/**
 * ClusterPresence on a private redis-server, each node with its own RedisPresenceStore: a node
 * whose lease expired is purged by exactly one survivor, which hands the users to its tracker
 * once; a node that finds its lease gone (Redis restarted empty) writes its live entries back.
 * The trackers here are the seam's smallest consumers: they book what they are handed.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, waitUntil, type RedisServer } from '@tether/testing';
import { ClusterPresence, type PresenceTrackerSeam } from '../../src/presence/cluster-presence.js';
import { RedisPresenceStore } from '../../src/presence/redis-presence-store.js';
import type { DeviceEntry, MembershipKey, PurgedUser } from '../../src/presence/types.js';

const LEASE_MS = 600;
const log = pino({ level: 'silent' });
let server: RedisServer;
let prefixes = 0;
const running: Array<{ presence: ClusterPresence; store: RedisPresenceStore }> = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  for (const { presence, store } of running.splice(0)) {
    await presence.stop();
    await store.close();
  }
});

class BookingTracker implements PresenceTrackerSeam {
  readonly purged: PurgedUser[][] = [];
  devices: DeviceEntry[] = [];
  memberships: MembershipKey[] = [];
  applyPurged(purged: PurgedUser[]): void {
    this.purged.push(purged);
  }
  liveEntries(): { devices: DeviceEntry[]; memberships: MembershipKey[] } {
    return { devices: this.devices, memberships: this.memberships };
  }
}

interface Node {
  nodeId: string;
  store: RedisPresenceStore;
  tracker: BookingTracker;
  presence: ClusterPresence;
}

function cluster(n: number): Node[] {
  prefixes += 1;
  return Array.from({ length: n }, (_, i) => {
    const nodeId = `node-${i}`;
    const store = new RedisPresenceStore(server.url, { keyPrefix: `c${prefixes}:` });
    const tracker = new BookingTracker();
    const presence = new ClusterPresence({ store, tracker, nodeId, leaseMs: LEASE_MS, log });
    running.push({ presence, store });
    return { nodeId, store, tracker, presence };
  });
}

async function connectUser(node: Node, sub: string, channel: string): Promise<void> {
  const device: DeviceEntry = {
    tenant: 'acme',
    sub,
    deviceId: 'phone',
    connId: `${node.nodeId}-${sub}`,
    nodeId: node.nodeId,
    status: 'online',
    lastActiveAt: 1,
  };
  const membership: MembershipKey = { ...device, channel };
  // As the tracker does: known locally first, then written.
  node.tracker.devices.push(device);
  node.tracker.memberships.push(membership);
  await node.store.upsertDevice(device);
  await node.store.join(membership);
}

describe('cluster presence', () => {
  it('a node whose lease expires is purged by exactly one survivor, its users handed over once', async () => {
    const nodes = cluster(3);
    for (const node of nodes) node.presence.start();
    await connectUser(nodes[0]!, 'ann', 'room');
    await connectUser(nodes[0]!, 'bob', 'room');
    await connectUser(nodes[1]!, 'cid', 'room');
    // Lets every lease be written before node-0 goes silent (as if SIGKILLed: its lease stays to expire).
    const nodesKey = `${nodes[0]!.store.keyPrefix}presence:nodes`;
    await waitUntil(async () => ((await server.command('ZCARD', nodesKey)) === 3 ? true : undefined), 5000);
    await nodes[0]!.presence.stop();

    const handed = await waitUntil(
      () => {
        const all = [...nodes[1]!.tracker.purged, ...nodes[2]!.tracker.purged];
        return all.length > 0 ? all : undefined;
      },
      10_000,
      'a survivor purged node-0',
    );
    // A few more beats: nobody gets them a second time.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    expect([...nodes[1]!.tracker.purged, ...nodes[2]!.tracker.purged]).toEqual(handed);
    expect(handed).toHaveLength(1);
    expect([...handed[0]!].sort((a, b) => (a.sub < b.sub ? -1 : 1))).toEqual([
      { tenant: 'acme', sub: 'ann', leftChannels: ['room'], offline: true },
      { tenant: 'acme', sub: 'bob', leftChannels: ['room'], offline: true },
    ]);
    expect(await nodes[2]!.store.members('acme', 'room')).toEqual([{ sub: 'cid', status: 'online', devices: 1 }]);
    expect(await nodes[2]!.store.expiredNodes('x')).toEqual([]); // node-0 forgotten, the others alive
  });

  it('a Redis restarted empty is refilled from each node’s live entries, and no node is purged for it', async () => {
    const nodes = cluster(2);
    for (const node of nodes) node.presence.start();
    await connectUser(nodes[0]!, 'ann', 'room');
    await connectUser(nodes[1]!, 'bob', 'room');
    await server.kill();
    await server.restart(); // no persistence: empty
    await waitUntil(
      async () => {
        const members = await nodes[0]!.store.members('acme', 'room').catch(() => []);
        return members.length === 2 ? members : undefined;
      },
      10_000,
      'both members back',
    );
    expect(await nodes[1]!.store.members('acme', 'room')).toEqual([
      { sub: 'ann', status: 'online', devices: 1 },
      { sub: 'bob', status: 'online', devices: 1 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    expect(nodes.flatMap((node) => node.tracker.purged)).toEqual([]);
  });

  it('after a reconnection to Redis, entries whose removal was lost meanwhile are removed and their users leave', async () => {
    const [node] = cluster(1);
    node!.presence.start();
    await connectUser(node!, 'ann', 'room');
    await connectUser(node!, 'bob', 'room');
    // bob disconnected while Redis was unreachable: the tracker let him go, its store write failed.
    node!.tracker.devices = node!.tracker.devices.filter((d) => d.sub !== 'bob');
    node!.tracker.memberships = node!.tracker.memberships.filter((m) => m.sub !== 'bob');
    await server.command('CLIENT', 'KILL', 'TYPE', 'normal'); // every connection drops and reconnects
    const handed = await waitUntil(
      () => (node!.tracker.purged.length > 0 ? node!.tracker.purged : undefined),
      10_000,
      'the stale entry removed',
    );
    expect(handed).toEqual([[{ tenant: 'acme', sub: 'bob', leftChannels: ['room'], offline: true }]]);
    expect(await node!.store.members('acme', 'room')).toEqual([{ sub: 'ann', status: 'online', devices: 1 }]);
  });
});

describe('cluster presence at start', () => {
  it('a process that reuses a node id removes the entries its predecessor left, with their leaves', async () => {
    const [before] = cluster(1);
    before!.presence.start();
    await connectUser(before!, 'ann', 'room');
    await before!.presence.stop(); // killed: its entries and its lease stay
    // The next process with the same id (a fixed `cluster.nodeId`), within the lease.
    const tracker = new BookingTracker();
    const next = new ClusterPresence({ store: before!.store, tracker, nodeId: before!.nodeId, leaseMs: LEASE_MS, log });
    running.push({ presence: next, store: before!.store });
    next.start();
    const handed = await waitUntil(() => (tracker.purged.length > 0 ? tracker.purged : undefined), 10_000, 'ann left');
    expect(handed).toEqual([[{ tenant: 'acme', sub: 'ann', leftChannels: ['room'], offline: true }]]);
    expect(await before!.store.members('acme', 'room')).toEqual([]);
  });
});
