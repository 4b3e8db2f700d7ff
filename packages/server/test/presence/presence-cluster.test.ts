/**
 * Presence in a real cluster: 3 `tether serve --store redis://…` processes (the built CLI) on one
 * private redis-server, real socket.io clients. A node SIGKILLed with 100 users on it: each of their
 * leaves reaches the watchers on the other nodes exactly once, within lease + grace, and no ghost
 * remains; a Redis restarted empty is refilled from the live connections without a join or a leave.
 * Short lease and grace keep it quick; waits are generous (CI is a loaded 2-core box). Needs
 * `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  startRedis,
  startServerProcess,
  waitUntil,
  type RedisServer,
  type ServerProcess,
  type TestClient,
} from '@tether/testing';
import {
  presenceMemberOf,
  type ChannelPresenceResponse,
  type PresenceChannelFrame,
  type PresenceMember,
} from '@tether/protocol';

const LEASE_MS = 1500;
const GRACE_MS = 1000;
const USERS = 100;
const CHANNEL = 'room:lobby';

/** A member list kept from `presence` frames (snapshot, then diffs), with every join and leave booked. */
class Watcher {
  readonly members = new Map<string, PresenceMember>();
  readonly joins: Array<{ sub: string; at: number }> = [];
  readonly leaves: Array<{ sub: string; at: number }> = [];
  constructor(readonly client: TestClient) {
    client.socket.on('presence', (frame: PresenceChannelFrame) => {
      if (frame.channel !== CHANNEL) return;
      const at = Date.now();
      if (frame.members) {
        this.members.clear();
        for (const m of frame.members.map(presenceMemberOf)) this.members.set(m.sub, m);
      }
      for (const m of (frame.join ?? []).map(presenceMemberOf)) {
        this.joins.push({ sub: m.sub, at });
        this.members.set(m.sub, m);
      }
      for (const m of (frame.update ?? []).map(presenceMemberOf)) this.members.set(m.sub, m);
      for (const sub of frame.leave ?? []) {
        this.leaves.push({ sub, at });
        this.members.delete(sub);
      }
    });
  }
}

let redis: RedisServer;
let nodes: ServerProcess[];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), apiKey: `tk_${randomBytes(16).toString('hex')}` };
  nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startServerProcess({
        store: redis.url,
        secrets,
        config: {
          presence: { channels: [{ pattern: 'room:*' }], graceMs: GRACE_MS },
          timings: { presenceLeaseMs: LEASE_MS },
        },
      }),
    ),
  );
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all((nodes ?? []).map((node) => node.stop(3000)));
  await redis?.stop();
});

async function join(node: ServerProcess, sub: string): Promise<TestClient> {
  const token = await node.token({ sub, channels: ['room:*'] });
  const client = await connectClient(node.url, token, { deviceId: `${sub}-device`, timeoutMs: 15_000 });
  clients.push(client);
  const reply = await client.sub(CHANNEL);
  if ('error' in reply) throw new Error(`sub refused: ${JSON.stringify(reply.error)}`);
  return client;
}

async function watch(node: ServerProcess, sub: string): Promise<Watcher> {
  const token = await node.token({ sub, channels: ['room:*'] });
  const client = await connectClient(node.url, token, { deviceId: `${sub}-device`, timeoutMs: 15_000 });
  clients.push(client);
  const watcher = new Watcher(client);
  const reply = await client.sub(CHANNEL);
  if ('error' in reply) throw new Error(`sub refused: ${JSON.stringify(reply.error)}`);
  return watcher;
}

async function channelPresence(node: ServerProcess): Promise<ChannelPresenceResponse> {
  const response = await fetch(`${node.url}/v1/presence/channels/${encodeURIComponent(CHANNEL)}`, {
    headers: { authorization: `Bearer ${node.apiKey}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Error(`presence read: ${response.status} ${await response.text()}`);
  return (await response.json()) as ChannelPresenceResponse;
}

async function userStatus(node: ServerProcess, sub: string): Promise<string> {
  const response = await fetch(`${node.url}/v1/presence/users/${encodeURIComponent(sub)}`, {
    headers: { authorization: `Bearer ${node.apiKey}` },
    signal: AbortSignal.timeout(10_000),
  });
  return ((await response.json()) as { status: string }).status;
}

const userIds = Array.from({ length: USERS }, (_, i) => `user-${i}`);
const subsOf = (members: Iterable<{ sub: string }>): string[] => [...members].map((m) => m.sub).sort();

describe('presence in a 3-node cluster', () => {
  it('a node SIGKILLed with 100 users: each leave arrives exactly once on the other nodes, within lease + grace; no ghost remains', async () => {
    const [victim, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const watchers = [await watch(b, 'watcher-b'), await watch(c, 'watcher-c')];
    for (let i = 0; i < USERS; i += 10) await Promise.all(userIds.slice(i, i + 10).map((sub) => join(victim, sub)));
    for (const watcher of watchers) {
      await waitUntil(() => (watcher.members.size === USERS + 2 ? true : undefined), 30_000, 'every member seen');
    }

    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    for (const watcher of watchers) {
      await waitUntil(() => (watcher.leaves.length >= USERS ? true : undefined), 60_000, '100 leaves');
    }
    // Some more lease periods: a second survivor's purge, or a late duplicate, would show here.
    await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_MS));

    const latencies: number[] = [];
    for (const watcher of watchers) {
      expect(watcher.leaves.map((l) => l.sub).sort()).toEqual([...userIds].sort()); // each once, nobody else
      latencies.push(...watcher.leaves.map((l) => l.at - killedAt));
      expect(subsOf(watcher.members.values())).toEqual(['watcher-b', 'watcher-c']);
    }
    const slowest = Math.max(...latencies);
    console.log(
      `presence-cluster: ${USERS} leaves on each of 2 watchers after SIGKILL; first ${Math.min(...latencies)} ms, ` +
        `last ${slowest} ms (lease ${LEASE_MS} ms + grace ${GRACE_MS} ms = ${LEASE_MS + GRACE_MS} ms)`,
    );
    // Within lease + grace, plus slack for a loaded box (the renewal period, the batch window, scheduling).
    expect(slowest).toBeLessThan(LEASE_MS + GRACE_MS + 10_000);

    for (const node of [b, c]) {
      const read = await channelPresence(node);
      expect(read.count).toBe(2);
      expect(subsOf(read.members ?? [])).toEqual(['watcher-b', 'watcher-c']);
    }
    expect(await userStatus(b, 'user-0')).toBe('offline');
    expect(await userStatus(c, `user-${USERS - 1}`)).toBe('offline');
  }, 120_000);

  it('a Redis restarted empty is refilled from the live connections, without a join or a leave', async () => {
    const [, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const watchers = [await watch(b, 'late-watcher-b'), await watch(c, 'late-watcher-c')];
    for (const sub of ['ann', 'bob', 'cid']) await join(b, sub);
    for (const sub of ['dan', 'eve']) await join(c, sub);
    const expected = ['ann', 'bob', 'cid', 'dan', 'eve', 'late-watcher-b', 'late-watcher-c', 'watcher-b', 'watcher-c'];
    for (const watcher of watchers) {
      await waitUntil(() => (watcher.members.size === expected.length ? true : undefined), 30_000, 'members');
    }
    const before = watchers.map((w) => ({ joins: w.joins.length, leaves: w.leaves.length }));

    await redis.kill();
    await redis.restart(); // no persistence: Redis is empty
    for (const node of [b, c]) {
      await waitUntil(
        async () => {
          const read = await channelPresence(node).catch(() => undefined);
          return read && subsOf(read.members ?? []).join() === expected.join() ? true : undefined;
        },
        60_000,
        'members refilled',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
    expect(watchers.map((w) => ({ joins: w.joins.length, leaves: w.leaves.length }))).toEqual(before);
    for (const watcher of watchers) expect(subsOf(watcher.members.values())).toEqual(expected);
    expect(await userStatus(c, 'ann')).toBe('online');
  }, 120_000);
});
