/**
 * The FCM and Web Push providers end to end, configured as an app would (`push.fcm`,
 * `push.webpush` in the server options): a real server on port 0, push targets registered by the
 * SDK (`client.registerPush`) or `POST /v1/push/devices`, a critical publish to a user with no
 * live connection, and local services that speak the real protocols (a fake FCM with its token
 * endpoint, a Web Push service that decrypts the payload).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import webpush from 'web-push';
import {
  startFakeFcm,
  startServer,
  startWebPushReceiver,
  waitUntil,
  type FakeFcm,
  type TestServer,
  type WebPushReceiver,
} from '@tether/testing';
import { TetherClient } from '@tether/client';
import type { PublishInput, PushOptions, PushStats } from '@tether/server';
import { settle, until } from './fake-time.js';

const vapid = webpush.generateVAPIDKeys();
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const close of closers.splice(0).reverse()) await close();
});

interface Rig {
  server: TestServer;
  fcm: FakeFcm;
  receiver: WebPushReceiver;
}

async function startRig(push: Omit<PushOptions, 'fcm' | 'webpush'> = {}): Promise<Rig> {
  const fcm = await startFakeFcm();
  closers.push(() => fcm.close());
  const receiver = await startWebPushReceiver();
  closers.push(() => receiver.close());
  const server = await startServer({
    // Read at call time, so that fake time (vi.useFakeTimers) moves the dispatcher's clock too.
    now: () => Date.now(),
    push: {
      // Only a test's own publishes wake the dispatcher; its poll would be a timer fake time must not see.
      pollIntervalMs: 3_600_000,
      ...push,
      fcm: { serviceAccount: fcm.serviceAccount(), endpoint: fcm.url },
      webpush: {
        vapidPublicKey: vapid.publicKey,
        vapidPrivateKey: vapid.privateKey,
        subject: 'mailto:ops@example.com',
        agent: receiver.agent,
      },
    },
  });
  closers.push(() => server.close());
  return { server, fcm, receiver };
}

/** Registers a push target for `sub` through the SDK, without connecting (the user stays offline). */
async function register(server: TestServer, sub: string, provider: string, token: string, deviceId: string) {
  const client = new TetherClient({ url: server.url, token: await server.token(sub), fallback: { enabled: false } });
  closers.push(() => client.close());
  return client.registerPush({ provider, token, deviceId });
}

/** `DELETE /v1/push/devices` as the user: how many targets matched. */
async function unregister(server: TestServer, sub: string, match: object): Promise<number> {
  const response = await fetch(`${server.url}/v1/push/devices`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await server.token(sub)}` },
    body: JSON.stringify(match),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { removed: number }).removed;
}

function funnel(server: TestServer): PushStats {
  return server.server.stats().push;
}

/**
 * Waits until the funnel shows `candidates` candidates and `expected` per-target outcomes (a
 * candidate's targets are counted together, once all of them answered), then returns it.
 */
async function settled(
  server: TestServer,
  candidates: number,
  expected: Partial<Pick<PushStats, 'sent' | 'gone' | 'failed'>>,
): Promise<PushStats> {
  const reached = (f: PushStats): boolean =>
    f.candidates === candidates &&
    (['sent', 'gone', 'failed'] as const).every((outcome) =>
      Object.entries(expected[outcome] ?? {}).every(([provider, n]) => (f[outcome][provider] ?? 0) >= n),
    );
  await waitUntil(() => (reached(funnel(server)) ? true : undefined), 8000, 'push outcomes').catch(() => {
    // The funnel as it is now, not as it was when the wait began.
    throw new Error(
      `never ${candidates} candidates with ${JSON.stringify(expected)}: ${JSON.stringify(funnel(server))}`,
    );
  });
  const f = funnel(server);
  for (const outcome of ['sent', 'gone', 'failed'] as const) expect(f[outcome]).toEqual(expected[outcome] ?? {});
  return f;
}

function publish(server: TestServer, input: Partial<PublishInput> & { channel: string }) {
  return server.server.publish({ type: 'trip:requested', data: { tripId: 'T1' }, critical: true, ...input });
}

describe('FCM through a running server', () => {
  it('sends exactly one messages:send with the v1 body: position as strings, high priority, collapse key', async () => {
    const { server, fcm } = await startRig();
    expect(await register(server, 'driver-1', 'fcm', 'fcm-token-A', 'phone')).toEqual({
      provider: 'fcm',
      deviceId: 'phone',
      evicted: 0,
    });
    const published = await publish(server, {
      channel: 'user:driver-1',
      id: 'offer-T1',
      data: { tripId: 'T1', pickup: 'Main St' },
      priority: 'high',
      collapseKey: 'trip-T1',
    });
    await settled(server, 1, { sent: { fcm: 1 } });
    expect(fcm.sendRequests).toHaveLength(1);
    const [request] = fcm.sendRequests;
    expect(request!.path).toBe(`/v1/projects/${fcm.projectId}/messages:send`);
    expect(request!.status).toBe(200);
    expect(request!.body).toMatchObject({
      message: {
        token: 'fcm-token-A',
        data: {
          id: 'offer-T1',
          channel: 'user:driver-1',
          epoch: published.epoch,
          offset: String(published.offset),
          type: 'trip:requested',
          data: JSON.stringify({ tripId: 'T1', pickup: 'Main St' }),
        },
        android: { priority: 'high', collapse_key: 'trip-T1' },
      },
    });
    const data = (request!.body as { message: { data: Record<string, unknown> } }).message.data;
    expect(Object.values(data).every((value) => typeof value === 'string')).toBe(true);
    // A normal-priority message goes as FCM normal priority, without a collapse key it had none of.
    await publish(server, { channel: 'user:driver-1', id: 'offer-T2' });
    await settled(server, 2, { sent: { fcm: 2 } });
    expect(fcm.sendRequests).toHaveLength(2);
    const second = (fcm.sendRequests[1]!.body as { message: { android: Record<string, unknown> } }).message;
    expect(second.android).toEqual({ priority: 'normal' });
    expect(fcm.tokenRequests).toHaveLength(1); // the access token is reused
  });

  it('a token FCM answers UNREGISTERED is removed: the next critical publish does not send to it', async () => {
    const { server, fcm } = await startRig();
    await register(server, 'driver-2', 'fcm', 'fcm-token-gone', 'old-phone');
    await register(server, 'driver-2', 'fcm', 'fcm-token-live', 'new-phone');
    fcm.unregister('fcm-token-gone');

    await publish(server, { channel: 'user:driver-2', id: 'm1' });
    await settled(server, 1, { sent: { fcm: 1 }, gone: { fcm: 1 } });
    const tokensOf = (from: number): string[] =>
      fcm.sendRequests.slice(from).map((r) => (r.body as { message: { token: string } }).message.token);
    expect(tokensOf(0).sort()).toEqual(['fcm-token-gone', 'fcm-token-live']);
    expect(fcm.sendRequests.find((r) => r.status === 404)).toBeDefined();

    await publish(server, { channel: 'user:driver-2', id: 'm2' });
    await settled(server, 2, { sent: { fcm: 2 }, gone: { fcm: 1 } });
    expect(tokensOf(2)).toEqual(['fcm-token-live']);
    // The user's own view agrees: the dropped token is no longer registered, the live one is.
    expect(await unregister(server, 'driver-2', { provider: 'fcm', token: 'fcm-token-gone' })).toBe(0);
    expect(await unregister(server, 'driver-2', { provider: 'fcm', token: 'fcm-token-live' })).toBe(1);
  });

  it('a 503 with Retry-After: 30 is retried after 30 s and not before, then delivered once', async () => {
    const { server, fcm } = await startRig();
    await register(server, 'driver-3', 'fcm', 'fcm-token-busy', 'phone');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    fcm.failNext('fcm-token-busy', { status: 503, retryAfter: '30' });

    await publish(server, { channel: 'user:driver-3', id: 'm-busy' });
    await until(() => fcm.sendRequests.length === 1 && funnel(server).retries === 1, 'the first attempt answered');
    expect(fcm.sendRequests[0]!.status).toBe(503);
    await vi.advanceTimersByTimeAsync(29_900);
    await settle();
    expect(fcm.sendRequests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await until(() => funnel(server).sent['fcm'] === 1, 'the retry sent');
    expect(fcm.sendRequests.map((r) => r.status)).toEqual([503, 200]);
    expect(fcm.delivered).toHaveLength(1);
    expect(fcm.delivered[0]).toMatchObject({ token: 'fcm-token-busy', data: { id: 'm-busy' } });
    await vi.advanceTimersByTimeAsync(120_000);
    await settle();
    expect(fcm.sendRequests).toHaveLength(2);
    expect(funnel(server)).toMatchObject({ candidates: 1, retries: 1, sent: { fcm: 1 }, failed: {} });
  });
});

describe('Web Push through a running server', () => {
  it('the service decrypts the position of the publish, with Urgency: high and the collapse key as Topic', async () => {
    const { server, receiver } = await startRig();
    const subscription = receiver.subscribe({ applicationServerKey: vapid.publicKey });
    await register(server, 'rider-1', 'webpush', JSON.stringify(subscription), 'browser');
    const published = await publish(server, {
      channel: 'user:rider-1',
      id: 'driver-arrived',
      type: 'trip:arrived',
      data: { tripId: 'T7' },
      priority: 'high',
      collapseKey: 'trip-T7',
    });
    await settled(server, 1, { sent: { webpush: 1 } });
    expect(receiver.refused).toEqual([]);
    expect(receiver.received).toHaveLength(1);
    const [push] = receiver.received;
    expect(push).toMatchObject({ endpoint: subscription.endpoint, urgency: 'high', topic: 'trip-T7' });
    expect(push!.vapid).toMatchObject({ aud: receiver.origin, sub: 'mailto:ops@example.com' });
    expect(JSON.parse(push!.payload)).toEqual({
      id: 'driver-arrived',
      channel: 'user:rider-1',
      epoch: published.epoch,
      offset: published.offset,
      type: 'trip:arrived',
      data: { tripId: 'T7' },
    });
  });

  it('a subscription the service answers 410 Gone is removed', async () => {
    const { server, receiver } = await startRig();
    const withdrawn = receiver.subscribe({ applicationServerKey: vapid.publicKey });
    const kept = receiver.subscribe({ applicationServerKey: vapid.publicKey });
    await register(server, 'rider-2', 'webpush', JSON.stringify(withdrawn), 'old-browser');
    await register(server, 'rider-2', 'webpush', JSON.stringify(kept), 'new-browser');
    receiver.unsubscribe(withdrawn);

    await publish(server, { channel: 'user:rider-2', id: 'm1' });
    await settled(server, 1, { sent: { webpush: 1 }, gone: { webpush: 1 } });
    expect(receiver.refused.map((r) => [r.endpoint, r.status])).toEqual([[withdrawn.endpoint, 410]]);

    await publish(server, { channel: 'user:rider-2', id: 'm2' });
    await settled(server, 2, { sent: { webpush: 2 }, gone: { webpush: 1 } });
    expect(receiver.refused).toHaveLength(1); // nothing more went to the withdrawn subscription
    expect(receiver.received.map((p) => p.endpoint)).toEqual([kept.endpoint, kept.endpoint]);
    expect(await unregister(server, 'rider-2', { provider: 'webpush', token: JSON.stringify(withdrawn) })).toBe(0);
  });
});

describe('priority low', () => {
  it('is never pushed, even with critical: true; the same message at normal priority is', async () => {
    const { server, fcm, receiver } = await startRig();
    await register(server, 'driver-4', 'fcm', 'fcm-token-low', 'phone');
    const subscription = receiver.subscribe({ applicationServerKey: vapid.publicKey });
    await register(server, 'driver-4', 'webpush', JSON.stringify(subscription), 'browser');

    await publish(server, { channel: 'user:driver-4', id: 'low-1', priority: 'low' });
    await publish(server, { channel: 'user:driver-4', id: 'low-2', priority: 'low', push: { ackWithin: 100 } });
    // A normal one after them: had a low one become a candidate, the count below would be 2 or 3.
    await publish(server, { channel: 'user:driver-4', id: 'normal-1' });
    await settled(server, 1, { sent: { fcm: 1, webpush: 1 } });
    expect(fcm.sendRequests.map((r) => (r.body as { message: { data: { id: string } } }).message.data.id)).toEqual([
      'normal-1',
    ]);
    expect(receiver.received.map((p) => (JSON.parse(p.payload) as { id: string }).id)).toEqual(['normal-1']);
  });
});
