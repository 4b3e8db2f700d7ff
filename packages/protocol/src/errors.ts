/**
 * The closed list of error codes. Stable codes are API: a code is never renamed or reused, and
 * `docs/errors.md` documents each one (a test checks that the two agree).
 */
export const ErrorCode = {
  /** A frame or HTTP body is malformed: not JSON, wrong shape or types. Nothing changed. */
  BadRequest: 'bad_request',
  /** A channel or tenant name breaks the grammar. Nothing changed. */
  InvalidChannel: 'invalid_channel',
  /** A message or body is larger than `maxPayloadBytes`. Nothing changed. */
  PayloadTooLarge: 'payload_too_large',
  /** No credentials, or a token / API key that does not verify. */
  Unauthorized: 'unauthorized',
  /** The token's `exp` has passed and no fresh token arrived through `refresh`. */
  TokenExpired: 'token_expired',
  /** Authenticated, but the claims or the `authorize` hook do not allow this channel or action. */
  Forbidden: 'forbidden',
  /** The connection already has `maxChannelsPerConnection` subscriptions. */
  TooManyChannels: 'too_many_channels',
  /** No such HTTP route; or presence asked of a server or channel that has none. Nothing changed. */
  NotFound: 'not_found',
  /** The store could not be reached or failed; the operation was not applied. Retry later. */
  StoreUnavailable: 'store_unavailable',
  /** The server is shutting down; reconnect (to another node) and resume. */
  ShuttingDown: 'shutting_down',
  /** The connection did not read what it was sent: over `maxQueuedBytes` waited for it, so it was cut. */
  SlowConsumer: 'slow_consumer',
  /** An unexpected server fault. Reported, never silent. */
  Internal: 'internal',
  /** The connection sent more than `maxInvalidFramesPerMinute` invalid frames: it is closed. */
  TooManyInvalidFrames: 'too_many_invalid_frames',
  /** Over a rate limit or connection cap; nothing changed. The body's `retryAfterMs` says when to try again. */
  RateLimited: 'rate_limited',
  /** The server is overloaded (its event loop lags): the connection was refused before any work. Retry after `retryAfterMs`. */
  ServerBusy: 'server_busy',
  /** A push target names a provider this server does not have, or one that takes no device registrations. Nothing changed. */
  PushProviderUnknown: 'push_provider_unknown',
  /** The provider refused the push target's token (e.g. a Web Push subscription that is not `{endpoint, keys}`). Nothing changed. */
  PushTokenInvalid: 'push_token_invalid',

  // Client-side codes: raised by the SDK (`@tether/client`), never sent by the server.
  /** The SDK's bounded publish queue is full: this publish was not queued. */
  QueueFull: 'queue_full',
  /** The client was closed: the operation was not done (pending publishes end with it). */
  ClientClosed: 'client_closed',
  /** The app's message handler threw or rejected: the message is retried, later ones wait. */
  HandlerFailed: 'handler_failed',
  /** The server sent a frame the SDK could not read: it was dropped, positions are unchanged. */
  ProtocolError: 'protocol_error',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodes: readonly ErrorCode[] = Object.values(ErrorCode);

/** HTTP status for each code, used by the HTTP API. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  invalid_channel: 400,
  payload_too_large: 413,
  unauthorized: 401,
  token_expired: 401,
  forbidden: 403,
  too_many_channels: 429,
  not_found: 404,
  store_unavailable: 503,
  shutting_down: 503,
  // Never sent over HTTP (a socket is cut); the nearest status, for apps that forward it.
  slow_consumer: 429,
  internal: 500,
  too_many_invalid_frames: 400,
  rate_limited: 429,
  server_busy: 503,
  push_provider_unknown: 400,
  push_token_invalid: 400,
  // Client-side codes never travel over HTTP; the nearest status, for apps that forward them.
  queue_full: 429,
  client_closed: 499,
  handler_failed: 500,
  protocol_error: 502,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/** The JSON shape of an error on the wire (socket `error` event, ack replies, HTTP bodies). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** With `rate_limited`: wait at least this long before trying again. */
  retryAfterMs?: number;
}

/** One error class for every Tether failure: a stable `code`, a readable message, an optional cause. */
export class TetherError extends Error {
  override readonly name = 'TetherError';
  readonly code: ErrorCode;
  /** With `rate_limited`: how long to wait before trying again. */
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  toJSON(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    return body;
  }

  /** Wraps anything thrown into a TetherError, keeping the original as `cause`. */
  static from(err: unknown, fallback: ErrorCode = ErrorCode.Internal): TetherError {
    if (err instanceof TetherError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new TetherError(fallback, message, { cause: err });
  }
}
