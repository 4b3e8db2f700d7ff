/**
 * The FCM HTTP v1 request body for a push notice: `{message: {token, data, notification?,
 * android: {priority, collapse_key?, ttl?}, apns: {headers, payload}}}`. `data` values are strings
 * (FCM refuses anything else) and carry the position `(channel, epoch, offset)`, the type and the
 * id, so the app resumes from the log. FCM takes at most 4096 bytes: the message's own `data` goes
 * first when the body would be larger (`dataOmitted: "1"` says so); the position is never dropped.
 */
import type { PushNotice } from './provider.js';
import { fcmCollapseKeyOf } from './push-keys.js';

/** FCM's limit on a message's payload. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;

export interface FcmNotification {
  title?: string;
  body?: string;
}

export interface FcmMessageBody {
  message: {
    token: string;
    data: Record<string, string>;
    notification?: FcmNotification;
    android: { priority: 'high' | 'normal'; collapse_key?: string; ttl?: string };
    apns: { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  };
}

/** The body, or `undefined` when even without the message's data it is over the limit. */
export function fcmMessageBody(
  notice: PushNotice,
  token: string,
  notification: FcmNotification | undefined,
  now: number,
): FcmMessageBody | undefined {
  const position: Record<string, string> = {
    id: notice.id,
    channel: notice.channel,
    epoch: notice.epoch,
    offset: String(notice.offset),
    type: notice.type,
  };
  const high = notice.priority === 'high';
  const android: FcmMessageBody['message']['android'] = { priority: high ? 'high' : 'normal' };
  const apnsHeaders: Record<string, string> = {
    // Apple refuses priority 10 for a background (data-only) push: only a visible one is sent at once.
    'apns-priority': high && notification ? '10' : '5',
    'apns-push-type': notification ? 'alert' : 'background',
  };
  if (notice.collapseKey !== undefined) {
    const key = fcmCollapseKeyOf(notice.collapseKey);
    android.collapse_key = key;
    apnsHeaders['apns-collapse-id'] = key;
  }
  if (notice.expiresAt !== undefined) {
    const seconds = Math.max(0, Math.floor((notice.expiresAt - now) / 1000));
    android.ttl = `${seconds}s`;
    apnsHeaders['apns-expiration'] = String(Math.floor(notice.expiresAt / 1000));
  }
  const aps: Record<string, unknown> = notification ? {} : { 'content-available': 1 };
  const build = (data: Record<string, string>): FcmMessageBody => ({
    message: {
      token,
      data,
      ...(notification ? { notification } : {}),
      android,
      apns: { headers: apnsHeaders, payload: { aps } },
    },
  });
  const fits = (body: FcmMessageBody): boolean => Buffer.byteLength(JSON.stringify(body)) <= FCM_MAX_PAYLOAD_BYTES;

  if (notice.data !== undefined) {
    const withData = build({ ...position, data: JSON.stringify(notice.data) });
    if (fits(withData)) return withData;
  }
  const withoutData = build(notice.data === undefined ? position : { ...position, dataOmitted: '1' });
  return fits(withoutData) ? withoutData : undefined;
}
