/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/): the secret is `whsec_` + base64
 * of the key bytes; the signature is `v1,` + base64 of HMAC-SHA256(key, `<id>.<timestamp>.<body>`),
 * with the timestamp in seconds. Receivers verify with any Standard Webhooks library.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'whsec_';
/** The spec asks for keys of 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** The key bytes of a `whsec_<base64>` secret; a TypeError naming what is wrong otherwise. */
export function webhookKeyOf(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(PREFIX)) {
    throw new TypeError('push.webhook.secret must be a Standard Webhooks secret: whsec_ followed by base64');
  }
  const encoded = secret.slice(PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new TypeError(
      `push.webhook.secret must be whsec_ followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes`,
    );
  }
  return key;
}

/** A new secret (32 random bytes), for `tether genconfig` and the docs. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** The `webhook-signature` value of one delivery. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** Whether one of the space-separated `v1,` signatures matches (constant-time compare). */
export function webhookSignatureMatches(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: string,
  header: string,
): boolean {
  const expected = Buffer.from(signWebhook(key, id, timestampSeconds, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
