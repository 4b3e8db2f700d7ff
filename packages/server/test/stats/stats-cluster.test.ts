/**
 * `/v1/stats` and `/v1/trace` on a cluster of 2 in-process nodes sharing a private redis-server:
 * each node writes its share to Redis, and either node answers the sum plus each node's share; the
 * trace asks the other node for the devices connected there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  startRedis,
  startServer,
  waitUntil,
  type RedisServer,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import type { StatsAnswer, TraceAnswer } from '@tether/server';
import { getJson } from './admin-http.js';

const ADMIN_KEY = 'cluster-admin-key-0123456789';
const jwtSecret = 'stats-cluster-secret-0123456789abcdef';
const CHANNEL = 'room:cluster';
let redis: RedisServer;
let nodes: TestServer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  nodes = [];
  for (const nodeId of ['node-a', 'node-b']) {
    nodes.push(
      await startServer({
        store: redis.url,
        cluster: { redisUrl: redis.url, nodeId, heartbeatMs: 500 },
        jwtSecret,
        adminKeys: [ADMIN_KEY],
        statsIntervalMs: 200,
        // No redelivery while the test looks: devices behind stay "unacked", not "missed".
        ackTimeoutMs: 120_000,
      }),
    );
  }
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(nodes.map((n) => n.close()));
  await redis.stop();
});

async function stats(node: TestServer): Promise<StatsAnswer> {
  const { status, body } = await getJson(`${node.url}/v1/stats`, ADMIN_KEY);
  expect(status).toBe(200);
  return body as unknown as StatsAnswer;
}

describe('stats of a 2-node cluster', () => {
  it('each node answers the sum of both shares, and each share', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const token = await a.token({ sub: 'carol', channels: [CHANNEL] });
    // Two connections on node a, one on node b, all subscribed.
    for (const [node, deviceId] of [
      [a, 'phone'],
      [a, 'tablet'],
      [b, 'laptop'],
    ] as const) {
      const client = await connectClient(node.url, token, { deviceId });
      clients.push(client);
      expect(await client.sub(CHANNEL)).toMatchObject({ offset: 0 });
    }
    await a.server.publishMany(Array.from({ length: 4 }, (_, i) => ({ channel: CHANNEL, type: 'note', data: { i } })));
    await b.server.publish({ channel: CHANNEL, type: 'note', data: { i: 4 } });
    for (const c of clients) await c.messages.waitForCount(5, { channel: CHANNEL });
    clients[0]!.ack({ [CHANNEL]: 5 });
    clients[2]!.ack({ [CHANNEL]: 1 });

    for (const asked of [a, b]) {
      const answer = await waitUntil(async () => {
        const s = await stats(asked);
        const { total } = s;
        return s.complete && total.counters.acked === 6 && total.connections === 3 && total.unacked === 9
          ? s
          : undefined;
      }, 10_000);
      expect(answer.nodeId).toBe(asked.server.nodeId);
      expect(answer.nodes.map((n) => n.nodeId)).toEqual(['node-a', 'node-b']);
      const [shareA, shareB] = answer.nodes as [StatsAnswer['nodes'][0], StatsAnswer['nodes'][0]];
      expect([shareA.connections, shareB.connections]).toEqual([2, 1]);
      expect([shareA.counters.published, shareB.counters.published]).toEqual([4, 1]);
      expect(answer.total.counters.published).toBe(5);
      expect(answer.total.counters.delivered.live).toBe(
        shareA.counters.delivered.live + shareB.counters.delivered.live,
      );
      expect(answer.total.counters.delivered.live).toBe(15);
      expect(answer.total.connectionsByTenant).toEqual({ default: 3 });
      expect(answer.total.subscriptions).toBe(6);
      // Unacked: the tablet 5 (node a), the laptop 4 (node b): one channel, summed over the nodes.
      expect(answer.total.unacked).toBe(9);
      expect(answer.total.topBacklog).toEqual([{ tenant: 'default', channel: CHANNEL, unacked: 9, behind: 2 }]);
    }
  });

  it('the trace finds the devices on both nodes', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    for (const asked of [a, b]) {
      const { status, body } = await getJson(`${asked.url}/v1/trace?sub=carol&channel=${CHANNEL}`, ADMIN_KEY);
      expect(status).toBe(200);
      const answer = body as unknown as TraceAnswer;
      expect(answer).toMatchObject({ head: 5, userAcked: 5, complete: true });
      const where = answer.devices.map((d) => [d.deviceId, d.nodeId, d.connected, d.acked, d.behind]);
      expect(where).toEqual([
        ['laptop', 'node-b', true, 1, 4],
        ['phone', 'node-a', true, 5, 0],
        ['tablet', 'node-a', true, 0, 5],
      ]);
    }
  });

  it('a node that stops drops out of the sum', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    clients[2]!.close();
    await b.close();
    const answer = await waitUntil(async () => {
      const s = await stats(a);
      return s.nodes.length === 1 ? s : undefined;
    }, 10_000);
    expect(answer.nodes[0]!.nodeId).toBe('node-a');
    expect(answer.total.connections).toBe(2);
  });
});
