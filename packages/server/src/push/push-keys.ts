/**
 * Collapse keys as the push services accept them. A message's collapse key is free text (the
 * relevance rules make `type\0value`), while a Web Push `Topic` is at most 32 URL-safe base64
 * characters and an APNs `apns-collapse-id` at most 64 bytes of a header value. A key that already
 * fits is sent as it is (readable in the provider's console); any other is replaced by a hash, so
 * equal keys still collapse together and different keys (almost surely) do not.
 */
import { createHash } from 'node:crypto';

const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]+$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

function hashed(key: string, maxLength: number): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, maxLength);
}

/** A Web Push `Topic` (RFC 8030 §5.4): ≤ 32 characters of the URL and filename safe base64 alphabet. */
export function webPushTopicOf(key: string): string {
  return key.length <= 32 && URL_SAFE_BASE64.test(key) ? key : hashed(key, 32);
}

/** An FCM `collapse_key` / APNs `apns-collapse-id`: printable ASCII, ≤ 64 bytes. */
export function fcmCollapseKeyOf(key: string): string {
  return key.length <= 64 && PRINTABLE_ASCII.test(key) ? key : hashed(key, 43);
}
