/**
 * `push.webpush`: the Web Push provider (`createWebPushProvider`, same names). The private VAPID
 * key is a secret: inline, `{"file": PATH}` or `{"env": NAME}` (sections/secret.ts).
 */
import { z } from 'zod';
import { secretSource } from './secret.js';

export const pushWebPushSection = z.strictObject({
  /** The application server key the browsers subscribed with (URL-safe base64). */
  vapidPublicKey: z.string().min(1),
  vapidPrivateKey: secretSource,
  /** A `mailto:` or `https:` contact for the push services. */
  subject: z.string().regex(/^(mailto:|https:)/, 'must be a mailto: or https: URL'),
  /** Default 86 400. */
  ttlSeconds: z.int().min(0).optional(),
  /** Default 10 000. */
  timeoutMs: z.int().positive().optional(),
});

export type PushWebPushSection = z.infer<typeof pushWebPushSection>;
