/**
 * The Web Push provider (RFC 8030 / 8291 / 8292) on the `web-push` package: the device token is
 * the browser's subscription JSON `{endpoint, keys: {p256dh, auth}}`; the payload is encrypted
 * (aes128gcm) to the subscription's keys and the request signed with the VAPID key. The push
 * service's answers map onto the dispatcher's outcomes: 2xx sent; 404/410 gone (the subscription
 * expired or was withdrawn); 429 and 5xx retry after `Retry-After`; any other 4xx failed.
 */
import type { Agent } from 'node:https';
import webpush, { WebPushError, type PushSubscription, type Urgency } from 'web-push';
import type { PushDevice, PushNotice, PushOutcome, PushProvider } from './provider.js';
import { webPushTopicOf } from './push-keys.js';
import { retryAfterMs } from './retry-after.js';

export interface WebPushProviderOptions {
  /** The VAPID public key (uncompressed P-256 point, URL-safe base64), the `applicationServerKey` of the subscriptions. Required. */
  vapidPublicKey: string;
  /** The VAPID private key (URL-safe base64). Required; a secret. */
  vapidPrivateKey: string;
  /** Who to contact about the pushes: a `mailto:` or `https:` URL. Required. */
  subject: string;
  /** How long the push service keeps a push for an offline browser, seconds, when the message has no ttl. Default 86 400. */
  ttlSeconds?: number;
  /** Longest silence on the socket to the push service, ms. Default 10 000. */
  timeoutMs?: number;
  /** The HTTPS agent (code, library only): e.g. one that trusts a test push service's certificate. */
  agent?: Agent;
  /** Clock, ms since the epoch (the TTL of a message with `expiresAt`). Default `Date.now`. */
  now?: () => number;
}

export const webPushDefaults = {
  ttlSeconds: 86_400,
  timeoutMs: 10_000,
} as const;

/** The payload's share of the ~4 KB a push service takes (the rest: the encryption's header and tag). */
export const WEB_PUSH_MAX_PAYLOAD_BYTES = 3072;

/** Checks the options (the VAPID keys and subject too) at once; a mistake is a `TypeError`. */
export function createWebPushProvider(options: WebPushProviderOptions): PushProvider {
  const { vapidPublicKey, vapidPrivateKey, subject } = options;
  try {
    // web-push checks the key lengths and the subject's form here; the audience is a stand-in.
    webpush.getVapidHeaders('https://push.example', subject, vapidPublicKey, vapidPrivateKey, 'aes128gcm');
  } catch (err) {
    throw new TypeError(`webpush: ${(err as Error).message}`, { cause: err });
  }
  const ttlSeconds = options.ttlSeconds ?? webPushDefaults.ttlSeconds;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new TypeError(`webpush ttlSeconds must be a whole number ≥ 0, got ${ttlSeconds}`);
  }
  const timeoutMs = options.timeoutMs ?? webPushDefaults.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`webpush timeoutMs must be a whole number > 0, got ${timeoutMs}`);
  }
  const now = options.now ?? Date.now;

  async function send(notice: PushNotice, device: PushDevice | undefined): Promise<PushOutcome> {
    if (!device) return { result: 'failed', error: 'webpush: a push needs a device (its subscription)' };
    const subscription = subscriptionOf(device.token);
    if (!subscription) return { result: 'gone', error: 'webpush: the device token is not a push subscription' };
    let ttl = ttlSeconds;
    if (notice.expiresAt !== undefined) {
      const left = notice.expiresAt - now();
      if (left <= 0) return { result: 'failed', error: 'webpush: the message expired before it was sent' };
      ttl = Math.ceil(left / 1000);
    }
    const request: webpush.RequestOptions = {
      vapidDetails: { subject, publicKey: vapidPublicKey, privateKey: vapidPrivateKey },
      TTL: ttl,
      urgency: URGENCY_OF[notice.priority],
      contentEncoding: 'aes128gcm',
      timeout: timeoutMs,
    };
    if (notice.collapseKey !== undefined) request.topic = webPushTopicOf(notice.collapseKey);
    if (options.agent) request.agent = options.agent;
    try {
      await webpush.sendNotification(subscription, payloadOf(notice), request);
      return { result: 'sent' };
    } catch (err) {
      if (!(err instanceof WebPushError)) {
        return { result: 'retry', afterMs: undefined, error: `webpush: ${(err as Error).message}` };
      }
      const error = `webpush: ${err.statusCode} ${err.body}`.slice(0, 300).trim();
      if (err.statusCode === 404 || err.statusCode === 410) return { result: 'gone', error };
      if (err.statusCode === 429 || err.statusCode >= 500) {
        return { result: 'retry', afterMs: retryAfterMs(headerOf(err.headers, 'retry-after'), now()), error };
      }
      return { result: 'failed', error };
    }
  }

  return { name: 'webpush', perDevice: true, send };
}

/** `{id, channel, epoch, offset, type}` and the message's `data` when it fits (else `dataOmitted: true`). */
export function payloadOf(notice: PushNotice): string {
  const position = {
    id: notice.id,
    channel: notice.channel,
    epoch: notice.epoch,
    offset: notice.offset,
    type: notice.type,
  };
  if (notice.data !== undefined) {
    const withData = JSON.stringify({ ...position, data: notice.data });
    if (Buffer.byteLength(withData) <= WEB_PUSH_MAX_PAYLOAD_BYTES) return withData;
    return JSON.stringify({ ...position, dataOmitted: true });
  }
  return JSON.stringify(position);
}

const URGENCY_OF: Readonly<Record<PushNotice['priority'], Urgency>> = { high: 'high', normal: 'normal', low: 'low' };

function subscriptionOf(token: string): PushSubscription | undefined {
  let json: unknown;
  try {
    json = JSON.parse(token);
  } catch {
    return undefined;
  }
  const fields = json as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } } | null;
  const endpoint = fields?.endpoint;
  const p256dh = fields?.keys?.p256dh;
  const auth = fields?.keys?.auth;
  if (typeof endpoint !== 'string' || !endpoint.startsWith('https://')) return undefined;
  if (typeof p256dh !== 'string' || typeof auth !== 'string') return undefined;
  // An uncompressed P-256 point and a 16-byte auth secret (RFC 8291 §3); web-push would throw later.
  const point = Buffer.from(p256dh, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04 || Buffer.from(auth, 'base64url').length !== 16) return undefined;
  return { endpoint, keys: { p256dh, auth } };
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
