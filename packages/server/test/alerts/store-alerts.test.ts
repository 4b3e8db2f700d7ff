/**
 * Store down / up end to end: a server on a Redis store (its private redis-server), alerts to a
 * Standard Webhooks receiver. Stopping Redis sends one "store down", starting it again one
 * "store up" — not one per check round. Also the missed spike from real unacked deliveries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  WebhookReceiver,
  connectClient,
  startRedis,
  startServer,
  waitUntil,
  type RedisServer,
  type TestServer,
} from '@tether/testing';
import { newWebhookSecret } from '@tether/server';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const kindsOf = (receiver: WebhookReceiver): string[] => receiver.accepted().map((d) => String(d.body['type']));

describe('store alerts', () => {
  it('Redis stopped: exactly one "store down"; started again: exactly one "store up"', async () => {
    const secret = newWebhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanup.push(() => receiver.close());
    const redis: RedisServer = await startRedis();
    cleanup.push(() => redis.stop());
    const server: TestServer = await startServer({
      store: redis.url,
      // A generous timeout: on a loaded box a slow answer must not pass for a dead store (a
      // stopped Redis refuses at once, so detection does not wait for it).
      alerts: { webhook: { url: receiver.url, secret }, checkIntervalMs: 100, timeoutMs: 3000, cooldownMs: 60_000 },
    });
    cleanup.push(() => server.close());

    await sleep(500); // a few healthy rounds: nothing to say
    expect(receiver.deliveries).toEqual([]);

    await redis.kill();
    await receiver.waitForCount(1, 15_000);
    await sleep(1000); // ten more rounds with Redis still away
    expect(kindsOf(receiver)).toEqual(['alert.store.down']);
    expect(receiver.accepted()[0]?.body).toMatchObject({
      data: { kind: 'store.down', severity: 'critical', fields: { store: 'redis' } },
    });
    expect(await server.server.ready()).toBe(false);

    await redis.restart();
    await receiver.waitForCount(2, 15_000);
    await sleep(1000);
    expect(kindsOf(receiver)).toEqual(['alert.store.down', 'alert.store.up']);
    expect(receiver.deliveries.every((d) => d.valid)).toBe(true);
    expect(server.server.recentAlerts().map((a) => [a.kind, a.status])).toEqual([
      ['store.up', 'sent'],
      ['store.down', 'sent'],
    ]);
  }, 60_000);

  it('messages given up on (missed) past the threshold within the window: one "missed spike"', async () => {
    const secret = newWebhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanup.push(() => receiver.close());
    const server = await startServer({
      ackTimeoutMs: 100,
      retryAckTimeoutMs: 100,
      retryDelayMs: 50,
      maxRetries: 0,
      alerts: { webhook: { url: receiver.url, secret }, checkIntervalMs: 100, missedPerWindow: 5, windowMs: 60_000 },
    });
    cleanup.push(() => server.close());
    // A client that takes messages and never acks them.
    const client = await connectClient(server.url, await server.token({ sub: 'u', channels: ['c:*'] }));
    cleanup.push(async () => client.close());
    const reply = await client.sub('c:1', { offset: 0 });
    expect('error' in reply).toBe(false);
    for (let i = 0; i < 8; i++) await server.server.publish({ channel: 'c:1', type: 't', data: { i } });
    await waitUntil(() => (server.server.stats().missed >= 5 ? true : undefined), 15_000, '5 missed');
    await receiver.waitForCount(1, 15_000);
    await sleep(500);
    expect(kindsOf(receiver)).toEqual(['alert.missed.spike']);
    expect(receiver.accepted()[0]?.body).toMatchObject({ data: { fields: { threshold: 5 } } });
  }, 60_000);
});
