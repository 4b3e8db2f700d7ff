/**
 * Every rate limit and connection cap of one server, built from its options: the HTTP gate for
 * connection attempts and caps, the Socket.IO connect and per-event middlewares, the per-API-key
 * publish limit, and the one client-IP rule (also handed to fastify as `trustProxy`).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { ResolvedOptions } from '../options.js';
import { redisStoreClientOptions } from '../store/redis-connection.js';
import { ioredis } from '../store/redis-modules.js';
import { TrustedProxies } from './client-ip.js';
import { FirstRequests } from './first-request.js';
import { connectLimitMiddleware } from './connect-limit.js';
import { ConnectionGate } from './connection-gate.js';
import { eventLimitMiddleware, type EventLimitDeps } from './event-limit.js';
import { RateLimitFactory, isUnlimited, type RateLimit } from './rate-limit.js';
import { CutUsers } from './cut-users.js';
import { BusySignal } from './busy.js';
import { HandshakeAdmission } from './handshakes.js';
import { LoopLagSampler } from '../delivery/loop-lag.js';

/** Redis keys of the shared limits start with this. */
const KEY_PREFIX = 'tether:rl:';
/** A limiter command slower than this falls back to the in-memory insurance limiter's answer. */
const REDIS_COMMAND_TIMEOUT_MS = 1000;

type LimitsOptions = Pick<
  ResolvedOptions,
  | 'limits'
  | 'trustedProxies'
  | 'socketPath'
  | 'store'
  | 'cluster'
  | 'busyLoopLagMs'
  | 'busyRetryAfterMs'
  | 'loopLag'
  | 'maxHandshakesInProgress'
>;

/** API keys whose digest is remembered at most (more than any deployment configures). */
const MAX_REMEMBERED_API_KEYS = 1024;

export class Limits {
  readonly proxies: TrustedProxies;
  /** Each connection's first request, let go once it is connected; the client IP without it. */
  readonly firstRequests: FirstRequests;
  readonly gate: ConnectionGate;
  /** `server_busy` while the event loop lags: at the gate and, for handshakes already past it, in the middleware. */
  readonly busy: BusySignal;
  /** Handshakes connected and not yet resumed: over `maxHandshakesInProgress`, new ones get `server_busy`. */
  readonly handshakes: HandshakeAdmission;
  private readonly lagSampler: LoopLagSampler | undefined;
  private readonly redis: Redis | undefined;
  private readonly attempts: RateLimit;
  private readonly eventsPerConnection: RateLimit;
  private readonly eventsPerUser: RateLimit;
  private readonly httpPublishes: RateLimit;
  private readonly httpRequests: RateLimit;
  private readonly cutUsers = new CutUsers();
  /** The rate-limit key of each API key seen (its digest): one SHA-256 per key, not per publish. */
  private readonly apiKeyDigests = new Map<string, string>();
  /** Shared by every socket's event-limit middleware. */
  private eventLimitDeps: EventLimitDeps | undefined;

  constructor(
    private readonly o: LimitsOptions,
    private readonly stats: StatsCounter,
    private readonly log: Logger,
  ) {
    this.proxies = new TrustedProxies(o.trustedProxies);
    this.firstRequests = new FirstRequests(this.proxies);
    const redisUrl = sharedRedisUrl(o);
    if (redisUrl) {
      this.redis = new (ioredis().Redis)(redisUrl, {
        ...redisStoreClientOptions(REDIS_COMMAND_TIMEOUT_MS),
        connectionName: 'tether-limits',
      });
      this.redis.on('error', (err: Error) => log.debug({ err }, 'limits redis connection error'));
    }
    const factory = new RateLimitFactory(this.redis, KEY_PREFIX, log);
    const l = o.limits;
    this.attempts = factory.create({
      name: 'attempts',
      points: l.connectionAttemptsPerSecondPerIp,
      durationSeconds: 1,
      burst: { points: l.connectionAttemptBurstPerIp - l.connectionAttemptsPerSecondPerIp, durationSeconds: 10 },
      shared: false,
    });
    this.eventsPerConnection = factory.create({
      name: 'conn',
      points: l.eventsPerMinutePerConnection,
      durationSeconds: 60,
      shared: false,
    });
    this.eventsPerUser = factory.create({
      name: 'user',
      points: l.eventsPerMinutePerUser,
      durationSeconds: 60,
      shared: true,
    });
    this.httpPublishes = factory.create({
      name: 'pub',
      points: l.httpPublishesPerSecondPerApiKey,
      durationSeconds: 1,
      shared: true,
    });
    this.httpRequests = factory.create({
      name: 'http',
      points: l.httpRequestsPerMinutePerUser,
      durationSeconds: 60,
      shared: true,
    });
    this.lagSampler = o.loopLag || o.busyLoopLagMs <= 0 ? undefined : new LoopLagSampler();
    this.busy = new BusySignal({
      thresholdMs: o.busyLoopLagMs,
      retryAfterMs: o.busyRetryAfterMs,
      lag: o.loopLag ?? this.lagSampler?.lag ?? (() => 0),
      stats,
    });
    this.handshakes = new HandshakeAdmission({
      max: o.maxHandshakesInProgress,
      retryAfterMs: o.busyRetryAfterMs,
      stats,
    });
    this.gate = new ConnectionGate({
      busy: this.busy,
      handshakes: this.handshakes,
      limits: l,
      proxies: this.proxies,
      attempts: this.attempts,
      stats,
      log,
      path: o.socketPath,
    });
  }

  /** For fastify's `trustProxy`: the same proxies as the socket path. */
  readonly trustProxy = (address: string): boolean => this.proxies.trusts(address);

  connectMiddleware() {
    return connectLimitMiddleware({
      requests: this.firstRequests,
      attempts: this.attempts,
      stats: this.stats,
      dryRun: this.o.limits.dryRun,
    });
  }

  /**
   * A socket just connected, before its connection routes its events: its event limits (no
   * middleware at all when both are off), and the HTTP request that opened it let go (~1.1 KB an
   * idle connection; its client IP is kept: first-request.ts).
   */
  connected(socket: Socket, ctx: AuthContext): void {
    const eventLimit = this.eventMiddleware(socket, ctx);
    if (eventLimit) socket.use(eventLimit);
    this.firstRequests.release(socket);
  }

  /** The event limits of one socket, or undefined when both are off (0). */
  private eventMiddleware(socket: Socket, ctx: AuthContext) {
    const l = this.o.limits;
    if (l.eventsPerMinutePerConnection <= 0 && l.eventsPerMinutePerUser <= 0) return undefined;
    this.eventLimitDeps ??= {
      perConnection: this.eventsPerConnection,
      perUser: this.eventsPerUser,
      stats: this.stats,
      log: this.log,
      dryRun: l.dryRun,
      maxRefusals: l.maxRefusalsPerConnection,
      cutUsers: this.cutUsers,
    };
    return eventLimitMiddleware(socket, ctx, this.eventLimitDeps);
  }

  /** After the token check: a user cut off for ignoring its limits waits for the window to end. */
  cutUserMiddleware() {
    return this.cutUsers.middleware(this.stats, this.attempts, this.firstRequests);
  }

  /**
   * Takes one HTTP publish of this API key; rejects with `rate_limited` over the limit. Undefined
   * when the limit is off (0): nothing to count, and no promise per publish to wait for.
   */
  httpPublish(apiKey: string): Promise<void> | undefined {
    return isUnlimited(this.httpPublishes) ? undefined : this.takeHttpPublish(apiKey);
  }

  private async takeHttpPublish(apiKey: string): Promise<void> {
    const key = this.apiKeyDigestOf(apiKey);
    const refusal = await this.httpPublishes.consume(key);
    if (!refusal) return;
    this.stats.values.rateLimited.httpPublishes++;
    if (this.o.limits.dryRun) return;
    throw new TetherError(ErrorCode.RateLimited, 'too many publishes with this API key', {
      retryAfterMs: refusal.retryAfterMs,
    });
  }

  /**
   * A digest, so that no API key is written to Redis. Remembered: only configured keys get here (the
   * HTTP route found the key first), so the map holds at most one entry per key; it starts over past
   * a bound all the same.
   */
  private apiKeyDigestOf(apiKey: string): string {
    let digest = this.apiKeyDigests.get(apiKey);
    if (digest === undefined) {
      digest = createHash('sha256').update(apiKey).digest('base64url').slice(0, 22);
      if (this.apiKeyDigests.size >= MAX_REMEMBERED_API_KEYS) this.apiKeyDigests.clear();
      this.apiKeyDigests.set(apiKey, digest);
    }
    return digest;
  }

  /** Takes one request of this user (tenant + sub) with a user token; throws `rate_limited` over the limit. */
  async httpRequest(tenant: string, sub: string): Promise<void> {
    const refusal = await this.httpRequests.consume(`${tenant}/${sub}`);
    if (!refusal) return;
    this.stats.values.rateLimited.httpRequests++;
    if (this.o.limits.dryRun) return;
    throw new TetherError(ErrorCode.RateLimited, 'too many HTTP requests for this user', {
      retryAfterMs: refusal.retryAfterMs,
    });
  }

  async close(): Promise<void> {
    this.lagSampler?.stop();
    if (!this.redis) return;
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
      else this.redis.disconnect();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** The Redis the nodes share, by the rule `server.ts` joins a cluster with. */
function sharedRedisUrl(o: LimitsOptions): string | undefined {
  if (o.cluster === false) return undefined;
  if (o.cluster) return o.cluster.redisUrl;
  return typeof o.store === 'string' && /^rediss?:\/\//.test(o.store) ? o.store : undefined;
}
