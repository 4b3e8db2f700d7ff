/**
 * The push fallback end to end on one node: a real server, real socket clients, the webhook
 * provider posting to a real local Standard Webhooks receiver that checks signatures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, WebhookReceiver, waitUntil } from '@tether/testing';
import { MemoryLogStore, newWebhookSecret, type PushOptions, type PushStats } from '@tether/server';

const secret = newWebhookSecret();
const beds: TestBed[] = [];
const receivers: WebhookReceiver[] = [];

afterEach(async () => {
  for (const bed of beds.splice(0)) await bed.close();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function setUp(
  push: Omit<PushOptions, 'webhook'> = {},
  extra: Parameters<TestBed['start']>[0] = {},
): Promise<{ bed: TestBed; receiver: WebhookReceiver; store: MemoryLogStore }> {
  const receiver = await WebhookReceiver.start(secret);
  receivers.push(receiver);
  const store = new MemoryLogStore();
  const bed = new TestBed();
  beds.push(bed);
  await bed.start({ store, push: { ...push, webhook: { url: receiver.url, secret } }, ...extra });
  return { bed, receiver, store };
}

function funnel(bed: TestBed): PushStats {
  return bed.server.server.stats().push;
}

/** Waits until the push candidates are all settled (pushed, suppressed or without target). */
async function settled(bed: TestBed, candidates: number): Promise<PushStats> {
  await waitUntil(
    () => {
      const f = funnel(bed);
      const sent = Object.values(f.sent).reduce((a, b) => a + b, 0);
      const failed = Object.values(f.failed).reduce((a, b) => a + b, 0);
      const ended = sent + failed + f.suppressedByAck + f.suppressedByRelevance + f.noTarget;
      return f.candidates === candidates && ended >= candidates ? true : undefined;
    },
    8000,
    `${candidates} push candidates settled (${JSON.stringify(funnel(bed))})`,
  );
  return funnel(bed);
}

describe('push fallback over a webhook', () => {
  it('a critical event to a user with no live connection reaches the webhook once, signed, and nothing stays queued', async () => {
    const { bed, receiver, store } = await setUp();
    const published = await bed.server.server.publish({
      channel: 'user:driver-1',
      type: 'trip:requested',
      data: { tripId: 'T1' },
      id: 'trip-T1-offer',
      critical: true,
    });
    const [delivery] = await receiver.waitForCount(1);
    expect(delivery).toMatchObject({ id: 'trip-T1-offer', valid: true, status: 204 });
    expect(Math.abs(delivery!.timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(delivery!.body).toEqual({
      id: 'trip-T1-offer',
      tenant: 'default',
      sub: 'driver-1',
      channel: 'user:driver-1',
      epoch: published.epoch,
      offset: published.offset,
      type: 'trip:requested',
      data: { tripId: 'T1' },
      priority: 'normal',
      reason: 'offline',
    });
    const f = await settled(bed, 1);
    expect(f).toMatchObject({ candidates: 1, sent: { webhook: 1 }, suppressedByAck: 0, suppressedByRelevance: 0 });
    // Exactly once: nothing is left to push, and the (message, user) stays claimed.
    expect(await store.push.takeDue(Number.MAX_SAFE_INTEGER, 10, Number.MAX_SAFE_INTEGER)).toEqual([]);
    // The same id again is a duplicate publish: no new candidate.
    await bed.server.server.publish({
      channel: 'user:driver-1',
      type: 'trip:requested',
      data: {},
      id: 'trip-T1-offer',
      critical: true,
    });
    expect(receiver.deliveries).toHaveLength(1);
    expect(funnel(bed).candidates).toBe(1);
  });

  it('pushes by type policy or by the publish’s own `push`; a message without a policy is never pushed', async () => {
    const { bed, receiver } = await setUp({ policies: { 'chat:mention': { ackWithin: 2000 } } });
    const server = bed.server.server;
    await server.publish({ channel: 'user:u1', type: 'chat:line', data: 1 });
    await server.publish({ channel: 'user:u1', type: 'chat:mention', data: 2 });
    await server.publish({ channel: 'user:u1', type: 'chat:line', data: 3, push: { ackWithin: 5000 } });
    await server.publish({ channel: 'room:lobby', type: 'chat:mention', data: 4 }); // no user to push to
    await receiver.waitForCount(2);
    await settled(bed, 2);
    expect(receiver.deliveries.map((d) => d.body.offset).sort()).toEqual([2, 3]);
    expect(receiver.deliveries.every((d) => d.valid && d.body.reason === 'offline')).toBe(true);
  });

  it('acked on a device within the window: no push', async () => {
    const { bed, receiver } = await setUp();
    const phone = await bed.connect('driver-2');
    const tablet = await bed.connect('driver-2'); // connected, never acks
    await bed.server.server.publish({
      channel: 'user:driver-2',
      type: 'trip:requested',
      data: {},
      push: { ackWithin: 400 },
    });
    const [msg] = await phone.messages.waitForCount(1);
    await tablet.messages.waitForCount(1);
    phone.ack({ 'user:driver-2': msg!.offset });
    const f = await settled(bed, 1);
    expect(f).toMatchObject({ suppressedByAck: 1, sent: {} });
    expect(receiver.deliveries).toEqual([]);
  });

  it('live but acked by no device within the window: pushed once, reason unacked', async () => {
    const { bed, receiver } = await setUp();
    const phone = await bed.connect('driver-3');
    await bed.server.server.publish({
      channel: 'user:driver-3',
      type: 'trip:requested',
      data: {},
      push: { ackWithin: 300 },
    });
    await phone.messages.waitForCount(1);
    const [delivery] = await receiver.waitForCount(1);
    expect(delivery).toMatchObject({ valid: true, body: { reason: 'unacked', offset: 1 } });
    await settled(bed, 1);
    expect(receiver.deliveries).toHaveLength(1);
  });

  it('superseded before the deadline: no push', async () => {
    const { bed, receiver } = await setUp(
      {},
      { relevance: { 'trip:requested': { supersededBy: ['trip:cancelled'] } } },
    );
    const phone = await bed.connect('driver-4'); // live, never acks
    const server = bed.server.server;
    await server.publish({ channel: 'user:driver-4', type: 'trip:requested', data: {}, push: { ackWithin: 400 } });
    await server.publish({ channel: 'user:driver-4', type: 'trip:cancelled', data: {} });
    await phone.messages.waitForCount(2);
    const f = await settled(bed, 1);
    expect(f).toMatchObject({ suppressedByRelevance: 1, sent: {} });
    expect(server.stats().droppedBy.push).toMatchObject({ superseded: 1 });
    expect(receiver.deliveries).toEqual([]);
  });

  it('expired (ttl) by the time it is due: no push', async () => {
    const { bed, receiver } = await setUp();
    await bed.connect('driver-5');
    await bed.server.server.publish({
      channel: 'user:driver-5',
      type: 'loc',
      data: {},
      ttl: 100,
      push: { ackWithin: 400 },
    });
    const f = await settled(bed, 1);
    expect(f).toMatchObject({ suppressedByRelevance: 1 });
    expect(bed.server.server.stats().droppedBy.push).toMatchObject({ ttl: 1 });
    expect(receiver.deliveries).toEqual([]);
  });

  it('a 4xx answer fails for good (counted by provider); a missed critical message on a shared channel is pushed per user', async () => {
    const { bed, receiver } = await setUp(
      {},
      { ackTimeoutMs: 200, retryAckTimeoutMs: 200, retryDelayMs: 50, maxRetries: 1, redeliveryMaxLoopLagMs: 10_000 },
    );
    receiver.respondWith({ status: 400 });
    await bed.server.server.publish({ channel: 'user:u9', type: 't', data: {}, critical: true });
    await settled(bed, 1);
    expect(funnel(bed).failed).toEqual({ webhook: 1 });
    expect(receiver.deliveries).toHaveLength(1);

    // A shared channel: the sweeper gives up on a live subscriber that never acks.
    const claims = { sub: 'rider-1', channels: ['trip:*'] };
    const rider = await bed.connect(claims);
    await rider.sub('trip:T9');
    await bed.server.server.publish({
      channel: 'trip:T9',
      type: 'trip:assigned',
      data: {},
      id: 'm-T9',
      critical: true,
    });
    const deliveries = await receiver.waitForCount(2);
    expect(deliveries[1]).toMatchObject({
      id: 'm-T9/rider-1',
      valid: true,
      body: { channel: 'trip:T9', sub: 'rider-1', reason: 'unacked' },
    });
  });
});

describe('push device registration', () => {
  it('refuses a provider that takes no devices, and bad bodies, with clear codes; nothing is stored', async () => {
    const { bed, store } = await setUp();
    const token = await bed.server.token('u1');
    const call = async (
      method: string,
      body: unknown,
      auth = `Bearer ${token}`,
    ): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(`${bed.server.url}/v1/push/devices`, {
        method,
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    };
    expect(await call('POST', { provider: 'webhook', token: 'x' })).toMatchObject({
      status: 400,
      json: { error: { code: 'push_provider_unknown' } },
    });
    expect(await call('POST', { provider: 'fcm', token: 'x' })).toMatchObject({
      status: 400,
      json: { error: { code: 'push_provider_unknown' } },
    });
    expect(await call('POST', { provider: 'fcm', token: '' })).toMatchObject({
      status: 400,
      json: { error: { code: 'bad_request' } },
    });
    expect(await call('POST', { provider: 'fcm', token: 'x', extra: 1 })).toMatchObject({
      json: { error: { code: 'bad_request' } },
    });
    expect(await call('DELETE', { provider: 'fcm' })).toMatchObject({ json: { error: { code: 'bad_request' } } });
    expect(await call('POST', { provider: 'fcm', token: 'x' }, 'Bearer nope')).toMatchObject({
      status: 401,
      json: { error: { code: 'unauthorized' } },
    });
    expect(await store.push.devicesOf('default', 'u1')).toEqual([]);
  });
});
