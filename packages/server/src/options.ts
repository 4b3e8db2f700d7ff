/**
 * Every server option in one place: the interface says each default, and `defaults` holds them.
 * Durations are milliseconds unless the name says otherwise.
 */
import type http from 'node:http';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CHECKPOINT_PAGES,
  defaultRetention,
  type LogStore,
  type RetentionOptions,
} from './store/types.js';
import type { RelevanceRules } from './delivery/relevance.js';
import type { AuthContext, AuthorizeHook } from './auth/context.js';
import { pushDefaults, type PushOptions } from './push/options.js';
import type { BatchRelay } from './delivery/fanout.js';
import type { ClusterOptions } from './cluster/redis-cluster.js';
import type { JwtPublicKeyInput } from './auth/public-keys.js';
import type { LimitOptions } from './limits/limit-options.js';
import { presenceDefaults, type PresenceOptions } from './presence/presence-options.js';
import { metricsDefaults, type MetricsOptions, type ResolvedMetricsOptions } from './metrics/options.js';

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  level: string;
  /** Default `json`. */
  format?: LogFormat;
}
import { alertDefaults, type AlertOptions } from './alerts/options.js';

export interface ApiKey {
  /** The secret, sent as `Authorization: Bearer <key>`; at least 16 characters (shorter throws a TypeError). */
  key: string;
  /** The tenant this key may publish to; `*` for any tenant (the body's `tenant`, default `default`). */
  tenant: string;
}

export interface DashboardOptions {
  /** Serve the page. Default true (its data still needs an admin key). */
  enabled: boolean;
  /** Where. Default `/dashboard`. */
  path: string;
}

export interface TetherServerOptions {
  /** An existing HTTP server to attach to. Default: a new one (call `listen`). */
  httpServer?: http.Server;
  /**
   * A LogStore, or a spec: `memory`, `sqlite:PATH`, `redis://…`. Default `memory`: the library
   * writes no file the app did not name, and a restart gives each channel a new epoch (clients
   * resync). `tether serve` defaults to `sqlite:<data-dir>/tether.db` instead; give a `sqlite:` or
   * `redis://` store to keep messages across restarts.
   */
  store?: LogStore | string;
  /**
   * HS256 secret for user tokens. Default none. At least one of `jwtSecret`, `jwtPublicKeys` and
   * `jwksUrl` is required; a token is checked against the key its `alg` (and `kid`) names.
   */
  jwtSecret?: string | Uint8Array;
  /**
   * Public keys for RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA tokens: SPKI PEM text or
   * public JWKs (a JWK's `kid` and `alg` are honoured). Each key verifies only its own algorithms.
   * Default none.
   */
  jwtPublicKeys?: readonly JwtPublicKeyInput[];
  /** A JWKS URL (http or https) to fetch public keys from, by `kid`. Default none. */
  jwksUrl?: string | URL;
  /** With `jwksUrl`: least time between two JWKS fetches (an unknown `kid`, a retry after a failure). Default 30_000. */
  jwksCooldownMs?: number;
  /** With `jwksUrl`: age after which the key set is refetched in the background. Default 600_000. */
  jwksCacheMaxAgeMs?: number;
  /** With `jwksUrl`: a JWKS fetch taking longer fails (the last good set stays). Default 5000. */
  jwksTimeoutMs?: number;
  /** Accepted `iss` claim value(s); a token without one of them is refused. Default: not checked. */
  jwtIssuer?: string | string[];
  /** Accepted `aud` claim value(s); a token without one of them is refused. Default: not checked. */
  jwtAudience?: string | string[];
  /** Longest accepted token lifetime, `exp - iat` (or `exp - now` without `iat`), seconds. Default 86_400. */
  maxTokenLifetimeSeconds?: number;
  /** Clock difference tolerated with the token issuer, for `exp`, `nbf` and `iat`, seconds. Default 30. */
  clockSkewSeconds?: number;
  /** API keys for `POST /v1/publish`, each at least 16 characters. Default none (HTTP publish refused). */
  apiKeys?: ApiKey[];
  /**
   * Admin keys for the operator's endpoints — `GET /metrics`, `GET /v1/stats`, `GET /v1/trace` and
   * the dashboard's data — sent as `Authorization: Bearer <key>`, each at least 16 characters.
   * Default none (those refused).
   */
  adminKeys?: string[];
  /** The dashboard page (docs/operations.md): `enabled` (default true) and its `path` (default `/dashboard`). */
  dashboard?: Partial<DashboardOptions>;
  /**
   * How often each node samples its counters for the rates of `/v1/stats` and, in a cluster,
   * writes its share of the figures to Redis. Default 5000.
   */
  statsIntervalMs?: number;
  /** Extra permission check after the token's claims. Default: allow what the claims allow. */
  authorize?: AuthorizeHook;
  /**
   * Relevance rules by message type (ttl, supersededBy with its optional `scope`, collapseKey,
   * isRelevant), applied on every path (docs/protocol.md §6). Default none.
   */
  relevance?: RelevanceRules;
  /**
   * The push fallback (docs/push.md): providers (`providers`, `webhook`), policies by message type,
   * `ackWithin` 10_000, and its limits and timings. Default none: nothing is pushed (missed
   * messages are counted only).
   */
  push?: PushOptions;
  /**
   * User status and channel presence (docs/presence.md): `channels` (`[{ pattern: 'room:*', mode:
   * 'members' | 'counts' }]`), `graceMs` 10_000, the batching window (`batchMs` 50 +
   * `batchMsPerMember` 0.2 per member, at most `maxBatchMs` 2000), `countsIntervalMs` 1000, the
   * `onLastActive` hook throttled by `lastActiveThrottleMs` 60_000, the `store`. Default none:
   * presence is off (the `presence` and `members` frames are refused with `not_found`).
   */
  presence?: PresenceOptions;
  /**
   * Alerts (docs/operations.md, "Alerts"): targets (`discord`, `slack`, `webhook`, `email`), the
   * events' thresholds, `cooldownMs` 300_000 per event, cluster-wide. Default: no target (events
   * are logged and kept for `recentAlerts()`).
   */
  alerts?: AlertOptions;
  /**
   * Carries appended batches to the other nodes of a cluster. Default: none on a single node; the
   * Socket.IO Redis adapter's relay with a `redis://` store. Injectable (tests use an in-process bus).
   */
  relay?: BatchRelay;
  /**
   * Join a cluster of nodes sharing Redis (adapter pub/sub, node liveness). Default: on with the
   * store's URL when `store` is `redis://…`, off otherwise; `false` turns it off.
   */
  cluster?: ClusterOptions | false;
  /** With a relay: how often active channels are checked against the store's head and epoch. Default 5000. */
  headCheckIntervalMs?: number;
  /**
   * In a cluster: how long a node's presence lease lasts (renewed every third). A node silent this
   * long is gone: one survivor purges its presence and sends the leaves. Default 15_000.
   */
  presenceLeaseMs?: number;
  /** Called for each new connection once authenticated. */
  onConnection?: (ctx: AuthContext) => void;
  /**
   * pino logger options or `false` for silence. Default: level `info`, format `json` (tests pass
   * `false`; the CLI passes its `--log-level` and `--log-format`, `auto` there). `format`: `json`
   * (one JSON object a line), `pretty` (pino-pretty, for people), `auto` (pretty when stdout is a TTY).
   */
  logger?: boolean | LoggerOptions;
  /**
   * Prometheus metrics (docs/operations.md, "Monitoring"): `enabled` true, `path` `/metrics` on the
   * server's own port for an admin key, or on its own `port` (`host` 127.0.0.1) without one;
   * `nodeMetrics` true, `maxNamespaces` 100, `successWindowMs` 10_000.
   */
  metrics?: MetricsOptions;
  /**
   * The clock, in ms since the epoch: message `ts`, TTL relevance, redelivery timing and age
   * retention read it. Default `Date.now`; tests inject a fake one. (Rate limits and timers keep
   * real time.)
   */
  now?: () => number;
  /** Socket.IO path. Default `/socket.io`. */
  socketPath?: string;
  /** CORS origins allowed for HTTP and Socket.IO. Default none (same-origin only). */
  corsOrigins?: string[];

  // delivery timing (docs/architecture.md §6)
  /** Unacked time after the first send before a redelivery (the SDK acks every 2 s at most). Default 4000. */
  ackTimeoutMs?: number;
  /** Unacked time after a redelivery before the next one. Default 3000. */
  retryAckTimeoutMs?: number;
  /** Sweeper period: how often unacked subscriptions are checked. Default 500. */
  retryDelayMs?: number;
  /** Redeliveries before the rest is counted missed for that connection. Default 2. */
  maxRetries?: number;
  /** Each further redelivery to a subscription waits this many times longer than the one before (≥ 1). Default 2. */
  redeliveryBackoff?: number;
  /**
   * Event-loop lag (ms, measured) above which the node is behind: nothing is redelivered until it has
   * run an `ackTimeoutMs` without such lag (acks may have waited unread). Default 200.
   */
  redeliveryMaxLoopLagMs?: number;
  /**
   * Retention and idempotency window of the built-in stores. Default 1000 msgs, 1 h, 5 min.
   * `retention.perChannel`: `[{ channels: 'chat:*', maxMessages?, maxAgeMs? }, …]`, by channel glob
   * (every tenant), first match wins, an omitted field keeps the global value. Default none.
   */
  retention?: Partial<RetentionOptions>;
  /** How often age retention runs. Default 60_000. */
  pruneIntervalMs?: number;
  /**
   * With a `sqlite:` store (a spec string): pages of write-ahead log (4 KiB each) after which a
   * commit checkpoints it into the data file. Fewer: a smaller log file and less committed since
   * the last fsync (what a power loss can take), but the checkpoint's copy and fsyncs, which run
   * on the event loop, come more often. Default 10_000 (SQLite's own is 1000). With
   * `sqliteCheckpointIntervalMs` on, only a backstop: the log rarely gets that long.
   */
  sqliteCheckpointPages?: number;
  /**
   * With a `sqlite:` store: a worker thread checkpoints the write-ahead log at most this often
   * while commits come in (ms), off the event loop; each checkpoint fsyncs the log, so about this
   * much is what a power loss can take. 0: none (every checkpoint is a commit's, on the loop).
   * Default 1000.
   */
  sqliteCheckpointIntervalMs?: number;

  // limits
  /** Max JSON size of one message's `data`, and of one frame. Default 65_536. */
  maxPayloadBytes?: number;
  /** Max subscriptions per connection (the inbox included). Default 100. */
  maxChannelsPerConnection?: number;
  /** Max messages per replay batch / HTTP poll answer per channel. Default 500. */
  replayBatchSize?: number;
  /**
   * Pending messages looked at per channel to rank a resume's (or a poll's) channels by priority:
   * a channel's priority is the highest among its next this-many pending messages. Default 100.
   */
  priorityLookahead?: number;
  /** Most messages one `GET /v1/history` answer may ask for (`limit`), and its default. Default 100. */
  maxHistoryLimit?: number;
  /** Recent messages kept in memory per active channel for redelivery and catch-up. Default 1024. */
  recentPerChannel?: number;
  /**
   * Most sockets a broadcast writes per event-loop turn, however fast they are written (see
   * `broadcastSliceMs`). Default 4096.
   */
  broadcastChunkSize?: number;
  /**
   * Longest a broadcast to a big room writes in one event-loop turn, ms: it writes sockets until
   * this long has passed, then yields the loop and goes on in the next turn (a broadcast to 10,000
   * sockets would otherwise hold it for ~100+ ms). Lower keeps the loop freer; higher brings the
   * last member its frame sooner. Default 5 (a socket write costs 10–30 µs: ~150–500 sockets a turn).
   */
  broadcastSliceMs?: number;
  /** Longest long-poll wait, seconds. Default 30. */
  maxPollWaitSeconds?: number;
  /** Max nesting depth of one message's `data` (objects and arrays; a scalar is 0). Default 32. */
  maxDataDepth?: number;
  /** Invalid frames (`bad_request`, `invalid_channel`, `payload_too_large`) a socket may send per minute before it is closed. Default 20. */
  maxInvalidFramesPerMinute?: number;
  /**
   * Bytes waiting to be written to one socket before the server cuts it (`slow_consumer`; the client
   * reconnects and resumes). Checked every 250 ms and before every send to one socket alone. At least
   * twice `maxBatchBytes`. Default 4_194_304 (4 MiB).
   */
  maxQueuedBytes?: number;
  /** Bytes of messages (as JSON) in one replay batch, redelivery or HTTP poll answer (all channels together). Default 1_048_576 (1 MiB). */
  maxBatchBytes?: number;
  /** Bytes of messages one node redelivers per sweep (the first redelivery of a sweep always goes). Default 2_097_152 (2 MiB). */
  maxRedeliveryBytesPerSweep?: number;
  /**
   * Rate limits and connection caps (docs/operations.md): connection attempts per IP 100/s, burst
   * 200; 1000 connections per IP, 20_000 per node; 200 client events per minute per user and per
   * connection, a connection cut after 100 refusals in a minute; 1000 HTTP publishes per second
   * per API key; `dryRun` false. 0 turns one off.
   */
  limits?: Partial<LimitOptions>;
  /**
   * Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client IP, for the socket
   * path and the HTTP API alike. Default none: the client IP is the TCP peer's address.
   */
  trustedProxies?: string[];

  // transport
  /** Socket.IO ping interval. Default 20_000. */
  pingIntervalMs?: number;
  /** Socket.IO ping timeout. Default 10_000. */
  pingTimeoutMs?: number;
  /**
   * Also accept Socket.IO's HTTP long-polling transport (sticky sessions needed behind a load
   * balancer). Default false: WebSocket only; the SDK has its own stateless HTTP fallback.
   */
  allowPollingTransport?: boolean;
  /** An Engine.IO connection that has not sent its handshake (token) by then is closed. Default 10_000. */
  connectTimeoutMs?: number;

  // resume storm (thousands of clients coming back at once)
  /**
   * The TCP accept queue of `listen()` (Node's default is 511). Linux caps it at
   * `net.core.somaxconn` (docs/operations.md). Default 4096.
   */
  listenBacklog?: number;
  /**
   * Also serve `GET /healthz` and `GET /readyz` on this port, a listener of their own, for an
   * orchestrator's probes: on the main port a probe queues behind every WebSocket connect in its
   * accept queue, seconds during a resume storm (docs/operations.md §2). 0: any free port. Default
   * none (the main port only).
   */
  probePort?: number;
  /** The interface of `probePort`. Default `127.0.0.1`. */
  probeHost?: string;
  /**
   * Bytes of recent store reads shared by the readers of a channel (thousands of clients resuming
   * `room:all` after a restart read its rows once, not once each); 0: off. Default 8 MiB.
   */
  replayCacheBytes?: number;
  /** Verified tokens remembered by their text, so a reconnect skips the signature check; 0: off. Default 10_000. */
  tokenCacheSize?: number;
  /**
   * How long a remembered verification is trusted at most (never past the token's `exp`): a token
   * stays accepted this long after its key left the server's keys. Default 60_000.
   */
  tokenCacheTtlMs?: number;
  /**
   * While the event loop lags more than this (ms), new connections are refused before Engine.IO
   * with `server_busy` and a retry hint, rather than accepted and left to time out; 0: never. Default 500.
   */
  busyLoopLagMs?: number;
  /** The retry hint (`Retry-After`, `retryAfterMs`) of a `server_busy` refusal; clients add jitter. Default 2000. */
  busyRetryAfterMs?: number;
  /**
   * Handshakes in progress at most (token verified, not yet resumed: the joins and the replay of
   * the handshake's positions); a new connection over it is refused before Engine.IO (or in the
   * handshake) with `server_busy` and `busyRetryAfterMs`, so that a crowd of returning clients is
   * served in order rather than all at once and timed out; 0: no cap. Default 256.
   */
  maxHandshakesInProgress?: number;
  /** The event loop's current lag, ms (for tests). Default: a timer-drift sampler (delivery/loop-lag.ts). */
  loopLag?: () => number;
  /**
   * WebSocket `permessage-deflate` (RFC 7692), negotiated with clients that offer it (socket.io-client
   * in Node and browsers does). `true` is Socket.IO's `{ threshold: 1024 }`; the threshold is ws's:
   * frames below it go uncompressed only when the client turned context takeover off; otherwise
   * (browsers and ws by default) every frame is compressed, against the context of the ones before.
   * A compressing socket holds a zlib context, and compression costs CPU: see bench/README.md
   * (scenario `deflate`). Default false.
   */
  perMessageDeflate?: boolean | { threshold?: number };
}

/** Options that stay undefined unless given. */
type OptionsWithoutDefault = 'jwtSecret' | 'jwksUrl' | 'jwtIssuer' | 'jwtAudience' | 'probePort';

export type ResolvedOptions = Required<
  Omit<
    Omit<TetherServerOptions, OptionsWithoutDefault>,
    | 'httpServer'
    | 'authorize'
    | 'push'
    | 'presence'
    | 'alerts'
    | 'relay'
    | 'cluster'
    | 'onConnection'
    | 'retention'
    | 'logger'
    | 'limits'
    | 'metrics'
    | 'loopLag'
    | 'dashboard'
  >
> &
  Pick<TetherServerOptions, OptionsWithoutDefault> &
  Pick<
    TetherServerOptions,
    'httpServer' | 'authorize' | 'push' | 'presence' | 'alerts' | 'relay' | 'cluster' | 'onConnection' | 'loopLag'
  > & {
    retention: RetentionOptions;
    logger: boolean | LoggerOptions;
    limits: LimitOptions;
    dashboard: DashboardOptions;
    metrics: ResolvedMetricsOptions;
  };

export const defaults = {
  store: 'memory',
  apiKeys: [] as ApiKey[],
  adminKeys: [] as string[],
  dashboard: { enabled: true, path: '/dashboard' } as DashboardOptions,
  statsIntervalMs: 5000,
  metrics: metricsDefaults,
  relevance: {} as RelevanceRules,
  socketPath: '/socket.io',
  corsOrigins: [] as string[],
  ackTimeoutMs: 4000,
  retryAckTimeoutMs: 3000,
  retryDelayMs: 500,
  maxRetries: 2,
  redeliveryBackoff: 2,
  redeliveryMaxLoopLagMs: 200,
  retention: defaultRetention,
  pruneIntervalMs: 60_000,
  sqliteCheckpointPages: DEFAULT_CHECKPOINT_PAGES,
  sqliteCheckpointIntervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS,
  headCheckIntervalMs: 5000,
  presenceLeaseMs: 15_000,
  maxPayloadBytes: 65_536,
  maxChannelsPerConnection: 100,
  replayBatchSize: 500,
  priorityLookahead: 100,
  maxHistoryLimit: 100,
  recentPerChannel: 1024,
  broadcastChunkSize: 4096,
  broadcastSliceMs: 5,
  maxPollWaitSeconds: 30,
  maxDataDepth: 32,
  maxInvalidFramesPerMinute: 20,
  maxQueuedBytes: 4_194_304,
  maxBatchBytes: 1_048_576,
  maxRedeliveryBytesPerSweep: 2_097_152,
  pingIntervalMs: 20_000,
  pingTimeoutMs: 10_000,
  jwtPublicKeys: [] as JwtPublicKeyInput[],
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 600_000,
  jwksTimeoutMs: 5000,
  // A day: long enough for any session token an app refreshes (the SDK refreshes before `exp`),
  // short enough that a leaked or forgotten token stops working within a day.
  maxTokenLifetimeSeconds: 86_400,
  clockSkewSeconds: 30,
  limits: {
    connectionAttemptsPerSecondPerIp: 100,
    connectionAttemptBurstPerIp: 200,
    maxConnectionsPerIp: 1000,
    maxConnections: 20_000,
    eventsPerMinutePerUser: 200,
    eventsPerMinutePerConnection: 200,
    maxRefusalsPerConnection: 100,
    httpPublishesPerSecondPerApiKey: 1000,
    httpRequestsPerMinutePerUser: 600,
    dryRun: false,
  } as LimitOptions,
  trustedProxies: [] as string[],
  allowPollingTransport: false,
  connectTimeoutMs: 10_000,
  listenBacklog: 4096,
  probeHost: '127.0.0.1',
  replayCacheBytes: 8_388_608,
  tokenCacheSize: 10_000,
  tokenCacheTtlMs: 60_000,
  busyLoopLagMs: 500,
  busyRetryAfterMs: 2000,
  maxHandshakesInProgress: 256,
  perMessageDeflate: false as boolean | { threshold?: number },
  /** The push fallback's settings (push/options.ts); no provider, so nothing is pushed, unless given. */
  push: pushDefaults,
  /** The presence settings (presence/presence-options.ts) once `presence` is given; off unless given. */
  presence: presenceDefaults,
  /** The alerts' settings (alerts/options.ts); no target, so nothing is sent, unless given. */
  alerts: alertDefaults,
} as const;

/** Socket.IO's (Engine.IO's) size below which a frame is sent uncompressed when deflate is on. */
export const DEFLATE_THRESHOLD_BYTES = 1024;
