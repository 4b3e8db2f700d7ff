/**
 * The Web Push provider against a local push service that speaks the real protocol: it checks the
 * VAPID signature and the headers and decrypts the aes128gcm payload with the subscription's keys,
 * so these tests see what a browser would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { startWebPushReceiver, type WebPushReceiver, type WebPushSubscriptionJson } from '@tether/testing';
import { createWebPushProvider } from '../../src/push/webpush.js';
import type { PushDevice, PushProvider } from '../../src/push/provider.js';
import { pushNotice } from './notice.js';

const vapid = webpush.generateVAPIDKeys();
const SUBJECT = 'mailto:ops@example.com';

const notice = pushNotice;

function device(subscription: WebPushSubscriptionJson | string): PushDevice {
  const token = typeof subscription === 'string' ? subscription : JSON.stringify(subscription);
  return { tenant: 'acme', sub: 'driver-7', deviceId: 'browser', provider: 'webpush', token };
}

describe('Web Push provider', () => {
  let receiver: WebPushReceiver;
  let provider: PushProvider;
  let subscription: WebPushSubscriptionJson;
  let clock: number;

  beforeEach(async () => {
    clock = Date.now();
    receiver = await startWebPushReceiver();
    subscription = receiver.subscribe({ applicationServerKey: vapid.publicKey });
    provider = createWebPushProvider({
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      subject: SUBJECT,
      agent: receiver.agent,
      now: () => clock,
    });
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('the push service decrypts the payload and finds (channel, epoch, offset), signed by our VAPID key', async () => {
    expect(await provider.send(notice(), device(subscription))).toEqual({ result: 'sent' });
    expect(receiver.refused).toEqual([]);
    expect(receiver.received).toHaveLength(1);
    const push = receiver.received[0]!;
    expect(JSON.parse(push.payload)).toEqual({
      id: 'm-42',
      channel: 'driver:7',
      epoch: 'e1',
      offset: 42,
      type: 'trip:requested',
      data: { tripId: 'T2' },
    });
    expect(push.vapid).toMatchObject({ sub: SUBJECT, aud: receiver.origin, publicKey: vapid.publicKey });
    expect(push.ttl).toBe(86_400);
    expect(push.urgency).toBe('normal');
    expect(push.topic).toBeUndefined();
  });

  it('Urgency follows the priority; Topic the collapse key (hashed when not ≤ 32 URL-safe characters)', async () => {
    await provider.send(notice({ priority: 'high', collapseKey: 'trip-T2' }), device(subscription));
    await provider.send(notice({ priority: 'low', collapseKey: 'trip:requested\u0000T2' }), device(subscription));
    await provider.send(notice({ collapseKey: 'trip:requested\u0000T2' }), device(subscription));
    const [high, low, again] = receiver.received;
    expect(high).toMatchObject({ urgency: 'high', topic: 'trip-T2' });
    expect(low!.urgency).toBe('low');
    expect(low!.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(again!.topic).toBe(low!.topic);
  });

  it('TTL follows the message’s expiry; an expired message is not sent', async () => {
    await provider.send(notice({ expiresAt: clock + 8_200 }), device(subscription));
    expect(receiver.received[0]!.ttl).toBe(9);
    expect(await provider.send(notice({ expiresAt: clock }), device(subscription))).toMatchObject({ result: 'failed' });
    expect(receiver.received).toHaveLength(1);
  });

  it('big data is left out (dataOmitted), the position stays', async () => {
    await provider.send(notice({ data: { text: 'x'.repeat(5000) } }), device(subscription));
    expect(receiver.refused).toEqual([]);
    expect(JSON.parse(receiver.received[0]!.payload)).toEqual({
      id: 'm-42',
      channel: 'driver:7',
      epoch: 'e1',
      offset: 42,
      type: 'trip:requested',
      dataOmitted: true,
    });
  });

  it('410 and 404 say the subscription is gone', async () => {
    receiver.unsubscribe(subscription);
    expect(await provider.send(notice(), device(subscription))).toMatchObject({
      result: 'gone',
      error: expect.stringContaining('410'),
    });
    const unknown = { ...subscription, endpoint: `${receiver.origin}/push/never-made` };
    expect(await provider.send(notice(), device(unknown))).toMatchObject({
      result: 'gone',
      error: expect.stringContaining('404'),
    });
    expect(receiver.received).toHaveLength(0);
  });

  it('429 and 503 with Retry-After are retries after that long; another 4xx fails', async () => {
    receiver.failNext(subscription, { status: 429, retryAfter: '30' });
    expect(await provider.send(notice(), device(subscription))).toMatchObject({ result: 'retry', afterMs: 30_000 });
    receiver.failNext(subscription, { status: 503 });
    expect(await provider.send(notice(), device(subscription))).toMatchObject({ result: 'retry', afterMs: undefined });
    receiver.failNext(subscription, { status: 400 });
    expect(await provider.send(notice(), device(subscription))).toMatchObject({ result: 'failed' });
    expect(await provider.send(notice(), device(subscription))).toEqual({ result: 'sent' });
  });

  it('a subscription bound to another VAPID key is refused (403): failed, not gone', async () => {
    const other = webpush.generateVAPIDKeys();
    const bound = receiver.subscribe({ applicationServerKey: other.publicKey });
    expect(await provider.send(notice(), device(bound))).toMatchObject({
      result: 'failed',
      error: expect.stringContaining('403'),
    });
    expect(receiver.refused[0]).toMatchObject({ status: 403 });
  });

  it('a payload encrypted to other keys does not decrypt at the push service (400): failed', async () => {
    const other = receiver.subscribe();
    const crossed = { ...subscription, keys: other.keys };
    const outcome = await provider.send(notice(), device(crossed));
    expect(outcome).toMatchObject({ result: 'failed', error: expect.stringContaining('400') });
    expect(receiver.refused[0]).toMatchObject({ status: 400, reason: expect.stringContaining('does not decrypt') });
  });

  it('a device token that is not a subscription is gone without a request', async () => {
    for (const token of [
      'not json',
      '{"endpoint":"http://127.0.0.1/x","keys":{"p256dh":"a","auth":"b"}}',
      JSON.stringify({ ...subscription, keys: { p256dh: 'AAAA', auth: subscription.keys.auth } }),
    ]) {
      expect(await provider.send(notice(), device(token))).toMatchObject({ result: 'gone' });
    }
    expect(receiver.requestHeaders).toHaveLength(0);
  });
});

describe('Web Push options', () => {
  it('bad VAPID keys or subject are a TypeError at creation', () => {
    const good = webpush.generateVAPIDKeys();
    expect(() =>
      createWebPushProvider({ vapidPublicKey: 'short', vapidPrivateKey: good.privateKey, subject: SUBJECT }),
    ).toThrow(/^webpush: Vapid public key/);
    expect(() =>
      createWebPushProvider({ vapidPublicKey: good.publicKey, vapidPrivateKey: 'short', subject: SUBJECT }),
    ).toThrow(/^webpush: Vapid private key/);
    expect(() =>
      createWebPushProvider({ vapidPublicKey: good.publicKey, vapidPrivateKey: good.privateKey, subject: 'ops' }),
    ).toThrow(/^webpush: Vapid subject/);
    expect(() =>
      createWebPushProvider({
        vapidPublicKey: good.publicKey,
        vapidPrivateKey: good.privateKey,
        subject: SUBJECT,
        ttlSeconds: -1,
      }),
    ).toThrow(/ttlSeconds/);
  });
});
