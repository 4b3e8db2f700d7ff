/**
 * The dispatcher's retries under fake time: a real webhook provider against a real local receiver
 * that answers 503 with `Retry-After`, driven by the dispatcher with a real memory store.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { WebhookReceiver } from '@tether/testing';
import { MemoryLogStore } from '../../src/store/memory-store.js';
import { RelevanceFilter } from '../../src/delivery/relevance.js';
import { StatsCounter } from '../../src/delivery/stats.js';
import { PushDispatcher } from '../../src/push/dispatcher.js';
import { resolvePushOptions, type PushOptions } from '../../src/push/options.js';
import { UserStateQuery } from '../../src/push/user-state.js';
import {
  newWebhookSecret,
  signWebhook,
  webhookKeyOf,
  webhookSignatureMatches,
} from '../../src/push/standard-webhooks.js';
import { retryAfterMs } from '../../src/push/webhook.js';
import { settle, until } from './fake-time.js';

const secret = newWebhookSecret();
const log = pino({ level: 'silent' });
let receiver: WebhookReceiver;
let dispatcher: PushDispatcher | undefined;
let store: MemoryLogStore;

beforeEach(async () => {
  receiver = await WebhookReceiver.start(secret);
  store = new MemoryLogStore();
});
afterEach(async () => {
  vi.useRealTimers();
  await dispatcher?.stop();
  dispatcher = undefined;
  await receiver.close();
});

function start(options: PushOptions, stats: StatsCounter): PushDispatcher {
  const d = new PushDispatcher({
    store,
    push: store.push,
    relevance: new RelevanceFilter({}, () => undefined),
    stats,
    userState: new UserStateQuery(() => ({ live: false, acked: 0 }), undefined, 1000, log),
    options: resolvePushOptions({ ...options, webhook: { url: receiver.url, secret } }),
    log,
    now: Date.now,
  });
  d.start();
  return d;
}

async function publishCritical(): Promise<void> {
  const [result] = await store.append('default/user:u', [
    { id: 'm1', type: 'trip:requested', data: {}, ts: Date.now(), critical: true },
  ]);
  dispatcher!.published('default', 'user:u', result!.epoch, result!.message);
}

describe('push retries', () => {
  it('a 503 with Retry-After is retried after exactly that long, with the same webhook-id', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const stats = new StatsCounter();
    dispatcher = start({ pollIntervalMs: 3_600_000 }, stats);
    receiver.respondWith({ status: 503, headers: { 'retry-after': '30' } });
    await publishCritical();
    await until(() => receiver.deliveries.length === 1 && stats.values.push.retries === 1, 'first attempt answered');
    await vi.advanceTimersByTimeAsync(29_900);
    await settle();
    expect(receiver.deliveries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await until(() => receiver.deliveries.length === 2, 'second attempt');
    await until(() => stats.values.push.sent['webhook'] === 1, 'sent counted');
    expect(receiver.deliveries.map((d) => [d.id, d.status, d.valid])).toEqual([
      ['m1', 503, true],
      ['m1', 204, true],
    ]);
    expect(stats.values.push).toMatchObject({ candidates: 1, retries: 1, sent: { webhook: 1 }, failed: {} });
  });

  it('without Retry-After it backs off (at most retryBaseMs × 2^n), and gives up after maxAttempts as failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const stats = new StatsCounter();
    dispatcher = start({ pollIntervalMs: 3_600_000, maxAttempts: 3, retryBaseMs: 1000 }, stats);
    receiver.respondWith({ status: 500 }, { status: 429 }, { status: 502 }, { status: 200 });
    await publishCritical();
    await until(() => receiver.deliveries.length === 1, 'first attempt');
    await vi.advanceTimersByTimeAsync(1000); // first retry within retryBaseMs
    await until(() => receiver.deliveries.length === 2, 'second attempt');
    await vi.advanceTimersByTimeAsync(2000); // second within 2 × retryBaseMs
    await until(() => receiver.deliveries.length === 3, 'third attempt');
    await until(() => stats.values.push.failed['webhook'] === 1, 'given up');
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(receiver.deliveries).toHaveLength(3);
    expect(stats.values.push).toMatchObject({ retries: 2, failed: { webhook: 1 }, sent: {} });
    expect(await store.push.takeDue(Number.MAX_SAFE_INTEGER, 10, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('an unreachable receiver counts as a retry', async () => {
    const stats = new StatsCounter();
    await receiver.close();
    dispatcher = start({ pollIntervalMs: 3_600_000, maxAttempts: 1 }, stats);
    await publishCritical();
    await until(() => stats.values.push.failed['webhook'] === 1, 'given up after one attempt');
    receiver = await WebhookReceiver.start(secret);
  });
});

describe('Standard Webhooks signing', () => {
  it('matches the spec’s test vector', () => {
    const key = webhookKeyOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const body = '{"test": 2432232314}';
    expect(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
    expect(
      webhookSignatureMatches(
        key,
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        body,
        'v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      ),
    ).toBe(true);
    expect(
      webhookSignatureMatches(
        key,
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265331,
        body,
        'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      ),
    ).toBe(false);
  });

  it('refuses secrets that are not whsec_ + base64 of 24–64 bytes', () => {
    for (const bad of [
      '',
      'secret',
      'whsec_',
      'whsec_c2hvcnQ=',
      `whsec_${Buffer.alloc(65).toString('base64')}`,
      'whsec_!!!!',
    ]) {
      expect(() => webhookKeyOf(bad)).toThrow(TypeError);
    }
    expect(() => resolvePushOptions({ webhook: { url: 'ftp://x', secret } })).toThrow(/push.webhook.url/);
    expect(() => resolvePushOptions({ ackWithin: 0 })).toThrow(/push.ackWithin/);
    expect(() => resolvePushOptions({ policies: { t: { ackWithin: -1 } } })).toThrow(/push.policies.t.ackWithin/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
