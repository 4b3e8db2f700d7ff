/**
 * Every server option in one place: the interface says each default, and `defaults` holds them.
 * Durations are milliseconds unless the name says otherwise.
 */
import type http from 'node:http';
import type { LogStore, RetentionOptions } from './store/types.js';
import type { RelevanceRules } from './delivery/relevance.js';
import type { AuthContext, AuthorizeHook } from './auth/context.js';
import type { PushProvider } from './delivery/push.js';
import type { BatchRelay } from './delivery/fanout.js';
import type { ClusterOptions } from './cluster/redis-cluster.js';
import type { LimitOptions } from './limits/limit-options.js';

export interface ApiKey {
  key: string;
  /** The tenant this key may publish to; `*` for any tenant (the body's `tenant`, default `default`). */
  tenant: string;
}

export interface TetherServerOptions {
  /** An existing HTTP server to attach to. Default: a new one (call `listen`). */
  httpServer?: http.Server;
  /** A LogStore, or a spec: `memory`, `sqlite:PATH`. Default `memory`. */
  store?: LogStore | string;
  /** HS256 secret for user tokens. Required. */
  jwtSecret: string | Uint8Array;
  /** API keys for `POST /v1/publish`. Default none (HTTP publish refused). */
  apiKeys?: ApiKey[];
  /** Extra permission check after the token's claims. Default: allow what the claims allow. */
  authorize?: AuthorizeHook;
  /** Relevance rules by message type (ttl, supersededBy, collapseKey, isRelevant). Default none. */
  relevance?: RelevanceRules;
  /** Where critical messages nobody acked go. Default none (they are counted as missed only). */
  push?: PushProvider;
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
  /** Called for each new connection once authenticated. */
  onConnection?: (ctx: AuthContext) => void;
  /** pino logger options or `false` for silence. Default: level `info`, or `silent` under tests. */
  logger?: boolean | { level: string };
  /** Socket.IO path. Default `/socket.io`. */
  socketPath?: string;
  /** CORS origins allowed for HTTP and Socket.IO. Default none (same-origin only). */
  corsOrigins?: string[];

  // delivery timing (DESIGN §10)
  /** Unacked time after the first send before a redelivery. Default 3000. */
  ackTimeoutMs?: number;
  /** Unacked time after a redelivery before the next one. Default 2000. */
  retryAckTimeoutMs?: number;
  /** Sweeper period: how often unacked subscriptions are checked. Default 500. */
  retryDelayMs?: number;
  /** Redeliveries before the rest is counted missed for that connection. Default 2. */
  maxRetries?: number;
  /** Retention and idempotency window of the built-in stores. Default 1000 msgs, 1 h, 5 min. */
  retention?: Partial<RetentionOptions>;
  /** How often age retention runs. Default 60_000. */
  pruneIntervalMs?: number;

  // limits
  /** Max JSON size of one message's `data`, and of one frame. Default 65_536. */
  maxPayloadBytes?: number;
  /** Max subscriptions per connection (the inbox included). Default 100. */
  maxChannelsPerConnection?: number;
  /** Max messages per replay batch / HTTP poll answer per channel. Default 500. */
  replayBatchSize?: number;
  /** Recent messages kept in memory per active channel for redelivery and catch-up. Default 1024. */
  recentPerChannel?: number;
  /** Longest long-poll wait, seconds. Default 30. */
  maxPollWaitSeconds?: number;
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
}

export type ResolvedOptions = Required<
  Omit<
    TetherServerOptions,
    'httpServer' | 'authorize' | 'push' | 'relay' | 'cluster' | 'onConnection' | 'retention' | 'logger' | 'limits'
  >
> &
  Pick<TetherServerOptions, 'httpServer' | 'authorize' | 'push' | 'relay' | 'cluster' | 'onConnection'> & {
    retention: RetentionOptions;
    logger: boolean | { level: string };
    limits: LimitOptions;
  };

export const defaults = {
  store: 'memory',
  apiKeys: [] as ApiKey[],
  relevance: {} as RelevanceRules,
  socketPath: '/socket.io',
  corsOrigins: [] as string[],
  ackTimeoutMs: 3000,
  retryAckTimeoutMs: 2000,
  retryDelayMs: 500,
  maxRetries: 2,
  retention: { maxMessages: 1000, maxAgeMs: 3_600_000, idempotencyWindowMs: 300_000 } as RetentionOptions,
  pruneIntervalMs: 60_000,
  headCheckIntervalMs: 5000,
  maxPayloadBytes: 65_536,
  maxChannelsPerConnection: 100,
  replayBatchSize: 500,
  recentPerChannel: 1024,
  maxPollWaitSeconds: 30,
  pingIntervalMs: 20_000,
  pingTimeoutMs: 10_000,
  limits: {
    connectionAttemptsPerSecondPerIp: 100,
    connectionAttemptBurstPerIp: 200,
    maxConnectionsPerIp: 1000,
    maxConnections: 20_000,
    eventsPerMinutePerUser: 200,
    eventsPerMinutePerConnection: 200,
    maxRefusalsPerConnection: 100,
    httpPublishesPerSecondPerApiKey: 1000,
    dryRun: false,
  } as LimitOptions,
  trustedProxies: [] as string[],
  allowPollingTransport: false,
  connectTimeoutMs: 10_000,
} as const;
