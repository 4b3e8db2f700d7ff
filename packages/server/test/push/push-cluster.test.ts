/**
 * The push fallback with 3 nodes on one Redis (in-process servers, a private redis-server): every
 * node drains the shared due-queue, and a (message, user) is still pushed exactly once; an ack on
 * a device connected to another node than the one that pushes still cancels the push.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startRedis,
  startServer,
  connectClient,
  WebhookReceiver,
  waitUntil,
  type RedisServer,
  type TestServer,
  type TestClient,
} from '@tether/testing';
import { openStore, newWebhookSecret, type PushStats } from '@tether/server';

const secret = newWebhookSecret();
const jwtSecret = 'push-cluster-secret-0123456789abcdef';
let redis: RedisServer;
let receiver: WebhookReceiver;
let nodes: TestServer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  receiver = await WebhookReceiver.start(secret);
  nodes = [];
  for (let i = 0; i < 3; i++) {
    nodes.push(
      await startServer({
        store: redis.url,
        jwtSecret,
        // Every node polls often: they all race for the same due entries.
        push: { webhook: { url: receiver.url, secret }, pollIntervalMs: 50 },
      }),
    );
  }
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(nodes.map((n) => n.close()));
  await receiver.close();
  await redis.stop();
});

function total(pick: (f: PushStats) => number): number {
  return nodes.reduce((sum, n) => sum + pick(n.server.stats().push), 0);
}

async function connect(node: TestServer, sub: string): Promise<TestClient> {
  const client = await connectClient(node.url, await node.token(sub));
  clients.push(client);
  return client;
}

describe('push with 3 nodes on one Redis', () => {
  it('a critical event to an offline user is pushed exactly once, whichever node drains it', async () => {
    const published = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        nodes[i % 3]!.server.publish({
          channel: `user:off-${i}`,
          type: 'trip:requested',
          data: { i },
          id: `m-off-${i}`,
          critical: true,
        }),
      ),
    );
    await receiver.waitForCount(10, 8000);
    await waitUntil(() => (total((f) => f.sent['webhook'] ?? 0) === 10 ? true : undefined), 5000, 'all sent');
    expect(total((f) => f.candidates)).toBe(10);
    const ids = receiver.deliveries.map((d) => d.id).sort();
    expect(ids).toEqual(published.map((_, i) => `m-off-${i}`).sort());
    expect(receiver.deliveries.every((d) => d.valid && d.body.reason === 'offline')).toBe(true);
  });

  it('a user connected to another node is live: the push waits for ackWithin and goes out once', async () => {
    const before = receiver.deliveries.length;
    const phone = await connect(nodes[1]!, 'driver-live');
    await nodes[0]!.server.publish({
      channel: 'user:driver-live',
      type: 'trip:requested',
      data: {},
      id: 'm-live',
      push: { ackWithin: 600 },
    });
    await phone.messages.waitForCount(1);
    const deliveries = await receiver.waitForCount(before + 1, 8000);
    expect(deliveries.at(-1)).toMatchObject({ id: 'm-live', valid: true, body: { reason: 'unacked' } });
    await waitUntil(() => (total((f) => f.sent['webhook'] ?? 0) === 11 ? true : undefined), 5000, 'counted as sent');
    // Every node has polled many times since: still once, and nothing queued.
    const store = openStore(redis.url);
    try {
      await waitUntil(
        async () => ((await store.push!.takeDue(Date.now() + 60_000, 10, Date.now())).length === 0 ? true : undefined),
        3000,
        'queue empty',
      );
    } finally {
      await store.close();
    }
    expect(receiver.deliveries.filter((d) => d.id === 'm-live')).toHaveLength(1);
    expect(total((f) => f.sent['webhook'] ?? 0)).toBe(11);
    expect(total((f) => f.candidates)).toBe(11);
  });

  it('acked within the window on a device of another node: no push', async () => {
    const before = receiver.deliveries.length;
    const phone = await connect(nodes[2]!, 'driver-ack');
    await nodes[0]!.server.publish({
      channel: 'user:driver-ack',
      type: 'trip:requested',
      data: {},
      id: 'm-ack',
      push: { ackWithin: 600 },
    });
    const [msg] = await phone.messages.waitForCount(1);
    phone.ack({ 'user:driver-ack': msg!.offset });
    await waitUntil(() => (total((f) => f.suppressedByAck) === 1 ? true : undefined), 5000, 'suppressed by the ack');
    expect(receiver.deliveries.slice(before).filter((d) => d.id === 'm-ack')).toEqual([]);
  });
});
