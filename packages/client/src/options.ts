/**
 * Every client option in one place: the interface says each default, `defaults` holds them, and
 * `resolveOptions` merges and fails fast (TypeError) on a missing or conflicting option.
 * Durations are milliseconds unless the name says otherwise.
 */
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import type { StorageOption } from './storage.js';

export interface Logger {
  debug(message: string, context?: unknown): void;
  info(message: string, context?: unknown): void;
  warn(message: string, context?: unknown): void;
  error(message: string, context?: unknown): void;
}

export interface ReconnectOptions {
  /** Cap of the first delay. Default 1000. */
  initialDelayMs: number;
  /** Largest delay. Default 30_000. */
  maxDelayMs: number;
  /**
   * Largest delay after an attempt the server never answered (connection refused, network error:
   * a server restarting, a network down), as against a timeout or a refusal, which grow to
   * `maxDelayMs`. Such an attempt costs the server nothing, and a client waiting 30 s for a server
   * that was back after 5 is the tail of a restart. Default 5000.
   */
  unreachableMaxDelayMs: number;
  /** Growth of the cap per failed attempt. Default 2. */
  factor: number;
  /** `full` (a uniform draw in [0, cap]) or `none`. Default `full`. */
  jitter: 'full' | 'none';
  /** Consecutive failed attempts before `failed` (reason `max_attempts`). Default Infinity. */
  maxAttempts: number;
}

export interface FallbackOptions {
  /** Use the HTTP long-poll fallback when the socket cannot connect. Default true. */
  enabled: boolean;
  /** Start polling once the socket has been down this long. Default 15_000. */
  afterMs: number;
  /** …or after this many consecutive failed socket attempts, whichever comes first. Default 3. */
  afterAttempts: number;
  /** Long-poll wait (`wait` of `POST /v1/poll`), seconds; 0 polls without waiting. Default 25. */
  pollWaitSeconds: number;
  /** Delay between polls when not long-polling (and after a failed poll), growing ×1.2. Default 10_000. */
  pollIntervalMs: number;
  /** Largest delay between polls. Default 60_000. */
  maxPollIntervalMs: number;
}

export interface PublishQueueOptions {
  /** Publishes waiting for the server (queued or in flight) at most; the next rejects with `queue_full`. Default 1000. */
  maxSize: number;
  /** Keep the queue in `storage`, so that a reload sends what was queued. Default false. */
  persist: boolean;
  /** A publish without a reply this long is sent again (same id, so at most once). Default 10_000. */
  timeoutMs: number;
}

export interface HandlerRetryOptions {
  /** First delay before a failed handler runs again for the same message. Default 500. */
  initialDelayMs: number;
  /** Largest delay. Default 30_000. */
  maxDelayMs: number;
  /** Growth per failure. Default 2. */
  factor: number;
}

/** Creates a Socket.IO socket; injectable for tests and custom transports. Default: socket.io-client's `io`. */
export type SocketFactory = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** The device's status from activity (docs/client.md, "Presence"). */
export interface PresenceOptions {
  /** No activity this long: `idle`. Default 300_000 (5 min). */
  idleAfterMs: number;
  /** No activity this long: `away`. Default 900_000 (15 min). */
  awayAfterMs: number;
  /** At most one "active" report to the server per this long. Default 60_000. */
  activityThrottleMs: number;
  /** Derive idle / away from activity (page events in browsers, calls in Node). Default true; false: always online unless busy. */
  trackActivity: boolean;
}

export interface ClientOptions {
  /** The server, e.g. `https://rt.example.com`. Required. */
  url: string;
  /** A user JWT. Give this or `getToken`, not both (TypeError). Without `getToken` the token is never refreshed. */
  token?: string;
  /** Returns a fresh user JWT; called before connecting, before `exp`, and after `token_expired`. */
  getToken?: () => Promise<string> | string;
  /** A stable id of this client instance. Default: generated once and kept in `storage`. */
  deviceId?: string;
  /** Where positions, the device id and (if `publishQueue.persist`) the queue are kept. Default `memory`. */
  storage?: StorageOption;
  /** Prefix of every storage key. Default `tether`. */
  storagePrefix?: string;
  /** Socket.IO path. Default `/socket.io`. */
  path?: string;
  /**
   * Socket.IO transports. Default `['websocket']`: no sticky sessions needed behind a load
   * balancer, and networks that block websockets are covered by the HTTP fallback instead.
   */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  /** Deadline for one connection attempt (handshake included). Default 10_000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff. Default 1 s doubling to 30 s (5 s after an unanswered attempt), full jitter, unlimited attempts. */
  reconnect?: Partial<ReconnectOptions>;
  /** Consecutive failed attempts before the `serverDown` event (the client keeps retrying). Default 5. */
  serverDownAfterAttempts?: number;
  /**
   * The app's own backend endpoint (never a third-party webhook: the browser would hold its
   * secret) that gets a POST `{ attempts, lastError, since, deviceId, url }` when the SDK decides
   * the server is down (`serverDown`), once per outage, within 5 s, never throwing. Default none.
   */
  reportUrl?: string;
  /** Acks are batched: at most one ack frame per interval. Default 2000. */
  ackIntervalMs?: number;
  /** RTT probe period. Default 30_000. */
  probeIntervalMs?: number;
  /** A probe unanswered this long means a dead (half-open) connection: reconnect. Default 10_000. */
  probeTimeoutMs?: number;
  /** Ask `getToken` for a new token this long before `exp` (at most 20 % of the token's life before it). Default 60_000. */
  tokenRefreshMarginMs?: number;
  /** A gap (a message ahead of position+1) not filled within this time is asked for. Default 1000. */
  gapTimeoutMs?: number;
  /** Positions are saved at most this often (and on `close()` and page hide). Default 250. */
  positionSaveIntervalMs?: number;
  /** HTTP fallback. */
  fallback?: Partial<FallbackOptions>;
  /** The offline publish queue. */
  publishQueue?: Partial<PublishQueueOptions>;
  /** Retry of a throwing handler. Default 500 ms doubling to 30 s. */
  handlerRetry?: Partial<HandlerRetryOptions>;
  /** Presence: idle after 5 min, away after 15 min without activity; activity reported at most every 60 s. */
  presence?: Partial<PresenceOptions>;
  /** Where the SDK logs. Default: nothing unless `debug`, then `console`. */
  logger?: Logger;
  /** Log every transition, frame summary and retry. Default false. */
  debug?: boolean;
  /** Socket.IO factory. Default socket.io-client's `io`. */
  socketFactory?: SocketFactory;
  /** `fetch` for the HTTP fallback. Default `globalThis.fetch`. */
  fetch?: FetchFunction;
  /** A typist is shown this long after their last `typing` notice (`sub.typists()`, `typingStopped`). Default 5000. */
  typingExpiryMs?: number;
  /** `sub.typing()` sends at most one frame per this interval and channel. Default 2000. */
  typingThrottleMs?: number;
}

export interface ResolvedClientOptions {
  url: string;
  token: string | undefined;
  getToken: (() => Promise<string> | string) | undefined;
  deviceId: string | undefined;
  storage: StorageOption;
  storagePrefix: string;
  path: string;
  transports: ('websocket' | 'polling' | 'webtransport')[];
  connectTimeoutMs: number;
  reconnect: ReconnectOptions;
  serverDownAfterAttempts: number;
  reportUrl: string | undefined;
  ackIntervalMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  tokenRefreshMarginMs: number;
  gapTimeoutMs: number;
  positionSaveIntervalMs: number;
  fallback: FallbackOptions;
  publishQueue: PublishQueueOptions;
  handlerRetry: HandlerRetryOptions;
  presence: PresenceOptions;
  logger: Logger;
  debug: boolean;
  socketFactory: SocketFactory | undefined;
  fetch: FetchFunction | undefined;
  typingExpiryMs: number;
  typingThrottleMs: number;
}

/** The defaults, exported so that apps can read (and document) them. */
export const defaults = {
  storage: 'memory',
  storagePrefix: 'tether',
  path: '/socket.io',
  transports: ['websocket'],
  connectTimeoutMs: 10_000,
  reconnect: {
    initialDelayMs: 1000,
    maxDelayMs: 30_000,
    unreachableMaxDelayMs: 5000,
    factor: 2,
    jitter: 'full',
    maxAttempts: Infinity,
  },
  serverDownAfterAttempts: 5,
  ackIntervalMs: 2000,
  probeIntervalMs: 30_000,
  probeTimeoutMs: 10_000,
  tokenRefreshMarginMs: 60_000,
  gapTimeoutMs: 1000,
  positionSaveIntervalMs: 250,
  fallback: {
    enabled: true,
    afterMs: 15_000,
    afterAttempts: 3,
    pollWaitSeconds: 25,
    pollIntervalMs: 10_000,
    maxPollIntervalMs: 60_000,
  },
  publishQueue: { maxSize: 1000, persist: false, timeoutMs: 10_000 },
  handlerRetry: { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 },
  presence: { idleAfterMs: 300_000, awayAfterMs: 900_000, activityThrottleMs: 60_000, trackActivity: true },
  debug: false,
  typingExpiryMs: 5000,
  typingThrottleMs: 2000,
} as const satisfies Partial<Record<keyof ResolvedClientOptions, unknown>>;

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export function resolveOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('TetherClient: options are required');
  if (typeof options.url !== 'string' || !/^(https?|wss?):\/\//.test(options.url)) {
    throw new TypeError('TetherClient: `url` must be an http(s) or ws(s) URL');
  }
  if (options.token === undefined && options.getToken === undefined) {
    throw new TypeError('TetherClient: give `token` or `getToken`');
  }
  if (options.token !== undefined && options.getToken !== undefined) {
    throw new TypeError(
      'TetherClient: give `token` or `getToken`, not both (`getToken` alone also covers the first token)',
    );
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new TypeError('TetherClient: `token` must be a non-empty string');
  }
  if (options.getToken !== undefined && typeof options.getToken !== 'function') {
    throw new TypeError('TetherClient: `getToken` must be a function');
  }
  const debug = options.debug ?? defaults.debug;
  const resolved: ResolvedClientOptions = {
    url: options.url.replace(/\/+$/, ''),
    token: options.token,
    getToken: options.getToken,
    deviceId: options.deviceId,
    storage: options.storage ?? defaults.storage,
    storagePrefix: options.storagePrefix ?? defaults.storagePrefix,
    path: options.path ?? defaults.path,
    transports: options.transports ?? [...defaults.transports],
    connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
    reconnect: { ...defaults.reconnect, ...options.reconnect },
    serverDownAfterAttempts: options.serverDownAfterAttempts ?? defaults.serverDownAfterAttempts,
    reportUrl: options.reportUrl,
    ackIntervalMs: options.ackIntervalMs ?? defaults.ackIntervalMs,
    probeIntervalMs: options.probeIntervalMs ?? defaults.probeIntervalMs,
    probeTimeoutMs: options.probeTimeoutMs ?? defaults.probeTimeoutMs,
    tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? defaults.tokenRefreshMarginMs,
    gapTimeoutMs: options.gapTimeoutMs ?? defaults.gapTimeoutMs,
    positionSaveIntervalMs: options.positionSaveIntervalMs ?? defaults.positionSaveIntervalMs,
    fallback: { ...defaults.fallback, ...options.fallback },
    publishQueue: { ...defaults.publishQueue, ...options.publishQueue },
    handlerRetry: { ...defaults.handlerRetry, ...options.handlerRetry },
    presence: { ...defaults.presence, ...options.presence },
    logger: options.logger ?? (debug ? consoleLogger() : silent),
    debug,
    socketFactory: options.socketFactory,
    fetch: options.fetch,
    typingExpiryMs: options.typingExpiryMs ?? defaults.typingExpiryMs,
    typingThrottleMs: options.typingThrottleMs ?? defaults.typingThrottleMs,
  };
  if (
    options.deviceId !== undefined &&
    (typeof options.deviceId !== 'string' || !/^.{1,128}$/.test(options.deviceId))
  ) {
    throw new TypeError('TetherClient: `deviceId` must be 1–128 characters');
  }
  if (options.reportUrl !== undefined && !/^(https?:\/\/|\/)/.test(String(options.reportUrl))) {
    throw new TypeError("TetherClient: `reportUrl` must be an http(s) URL or a path on the page's origin");
  }
  if (resolved.transports.length === 0) throw new TypeError('TetherClient: `transports` must not be empty');
  const positive: [string, number][] = [
    ['connectTimeoutMs', resolved.connectTimeoutMs],
    ['reconnect.initialDelayMs', resolved.reconnect.initialDelayMs],
    ['reconnect.maxDelayMs', resolved.reconnect.maxDelayMs],
    ['reconnect.unreachableMaxDelayMs', resolved.reconnect.unreachableMaxDelayMs],
    ['reconnect.maxAttempts', resolved.reconnect.maxAttempts],
    ['serverDownAfterAttempts', resolved.serverDownAfterAttempts],
    ['ackIntervalMs', resolved.ackIntervalMs],
    ['probeIntervalMs', resolved.probeIntervalMs],
    ['probeTimeoutMs', resolved.probeTimeoutMs],
    ['gapTimeoutMs', resolved.gapTimeoutMs],
    ['fallback.afterMs', resolved.fallback.afterMs],
    ['fallback.afterAttempts', resolved.fallback.afterAttempts],
    ['fallback.pollIntervalMs', resolved.fallback.pollIntervalMs],
    ['publishQueue.maxSize', resolved.publishQueue.maxSize],
    ['publishQueue.timeoutMs', resolved.publishQueue.timeoutMs],
    ['handlerRetry.initialDelayMs', resolved.handlerRetry.initialDelayMs],
    ['typingExpiryMs', resolved.typingExpiryMs],
    ['presence.idleAfterMs', resolved.presence.idleAfterMs],
    ['presence.awayAfterMs', resolved.presence.awayAfterMs],
    ['presence.activityThrottleMs', resolved.presence.activityThrottleMs],
  ];
  for (const [name, value] of positive) {
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
      throw new TypeError(`TetherClient: \`${name}\` must be a positive number, got ${String(value)}`);
    }
  }
  if (resolved.reconnect.factor < 1 || resolved.handlerRetry.factor < 1) {
    throw new TypeError('TetherClient: backoff `factor` must be at least 1');
  }
  if (resolved.presence.awayAfterMs < resolved.presence.idleAfterMs) {
    throw new TypeError('TetherClient: `presence.awayAfterMs` must not be below `presence.idleAfterMs`');
  }
  if (resolved.reconnect.maxDelayMs < resolved.reconnect.initialDelayMs) {
    throw new TypeError('TetherClient: `reconnect.maxDelayMs` must not be below `reconnect.initialDelayMs`');
  }
  const wait = resolved.fallback.pollWaitSeconds;
  if (typeof wait !== 'number' || wait < 0 || wait > 60) {
    throw new TypeError('TetherClient: `fallback.pollWaitSeconds` must be between 0 and 60');
  }
  if (!(resolved.typingThrottleMs >= 0)) {
    throw new TypeError('TetherClient: `typingThrottleMs` must not be negative');
  }
  if (resolved.tokenRefreshMarginMs < 0 || resolved.positionSaveIntervalMs < 0) {
    throw new TypeError('TetherClient: `tokenRefreshMarginMs` and `positionSaveIntervalMs` must not be negative');
  }
  return resolved;
}

function consoleLogger(): Logger {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, context?: unknown): void => {
      if (context === undefined) console[level](`[tether] ${message}`);
      else console[level](`[tether] ${message}`, context);
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
