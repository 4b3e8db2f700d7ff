/**
 * `push`: the push fallback (docs/push.md): the webhook provider, push policies by message type,
 * and the dispatcher's limits and timings, all in ms. Custom providers are code (library option
 * `push.providers`); FCM and Web Push get their own keys here.
 */
import { z } from 'zod';
import { pushFcmSection } from './push-fcm.js';
import { pushWebPushSection } from './push-webpush.js';

const ms = z.int().positive();

export const pushWebhookSection = z.strictObject({
  /** Where pushes are POSTed. */
  url: z.url({ protocol: /^https?$/ }),
  /** `whsec_` + base64 of 24–64 random bytes (Standard Webhooks); checked when the server starts. */
  secret: z.string().startsWith('whsec_'),
  timeoutMs: ms.optional(),
  /** Extra request headers. */
  headers: z.record(z.string().min(1), z.string()).optional(),
  name: z.string().min(1).max(64).optional(),
});

export const pushSection = z.strictObject({
  webhook: pushWebhookSection.optional(),
  fcm: pushFcmSection.optional(),
  webpush: pushWebPushSection.optional(),
  /** By message type: `{ "trip:requested": { "ackWithin": 10000 } }` (`{}`: the default ackWithin). */
  policies: z.record(z.string().min(1), z.strictObject({ ackWithin: ms.optional() })).optional(),
  ackWithin: ms.optional(),
  maxDevicesPerUser: ms.optional(),
  maxAttempts: ms.optional(),
  retryBaseMs: ms.optional(),
  retryMaxMs: ms.optional(),
  claimTtlMs: ms.optional(),
  leaseMs: ms.optional(),
  pollIntervalMs: ms.optional(),
  queryTimeoutMs: ms.optional(),
});
