/**
 * The push fallback's contract between the dispatcher (who decides *whether* and *when* a message is
 * pushed, at most once per message and user) and the providers (who know *how*: a signed webhook,
 * FCM HTTP v1, Web Push). A provider makes one attempt per call and says what happened; the
 * dispatcher owns retries, backoff and `Retry-After`, so every provider gets them the same way.
 */

export type PushPriority = 'high' | 'normal' | 'low';

/** What a push says: enough for the app to open and resume from the log, not the message itself. */
export interface PushNotice {
  /** The message id: the webhook's `webhook-id`, the receiver's dedupe key. */
  id: string;
  tenant: string;
  /** The user the push is for. */
  sub: string;
  channel: string;
  epoch: string;
  offset: number;
  type: string;
  /** The message's `data`, for providers that carry it (webhook); others may send a summary. */
  data: unknown;
  /** `normal` when the message has none. `low` is never pushed. */
  priority: PushPriority;
  /** FCM `collapse_key` / Web Push `Topic`. */
  collapseKey: string | undefined;
  /** Milliseconds since the epoch when the message stops being relevant, when a ttl applies. */
  expiresAt: number | undefined;
  /** Why it is pushed. */
  reason: 'unacked' | 'offline';
}

/** A push target a device registered (`POST /v1/push/devices`). */
export interface PushDevice {
  tenant: string;
  sub: string;
  /** The registering client's device id. */
  deviceId: string;
  /** The provider that serves it: `fcm`, `webpush`, or a custom provider's name. */
  provider: string;
  /** FCM: the registration token; Web Push: the subscription JSON (`{endpoint, keys:{p256dh, auth}}`) as text. */
  token: string;
}

/** What one attempt came to. */
export type PushOutcome =
  | { result: 'sent' }
  /** The target is gone (FCM `UNREGISTERED`/404, Web Push 404/410): the dispatcher removes it. */
  | { result: 'gone'; error: string }
  /** Worth another attempt (5xx, 429, a network error); `afterMs` from `Retry-After` when given. */
  | { result: 'retry'; afterMs: number | undefined; error: string }
  /** Will never succeed as sent (400, 401 after a token refresh, a payload too large). */
  | { result: 'failed'; error: string };

export interface PushProvider {
  /** `webhook`, `fcm`, `webpush`, or a custom name; devices register against it. */
  readonly name: string;
  /**
   * `true`: one call per registered device of the user with `provider === name` (FCM, Web Push).
   * `false`: one call per (message, user), with no device (a webhook to the app's backend).
   */
  readonly perDevice: boolean;
  send(notice: PushNotice, device: PushDevice | undefined): Promise<PushOutcome>;
  /**
   * Checks a token a device registers (`POST /v1/push/devices`) before it is stored: why it is
   * unusable (answered as `push_token_invalid`), or undefined when it is fine. Optional: without
   * it every token is stored as given.
   */
  checkToken?(token: string): string | undefined;
  /** Releases sockets and timers; called on server close. */
  close?(): Promise<void>;
}
