/**
 * One rate limit: in memory on one node (window-counts.ts; rate-limiter-flexible's memory limiter
 * for the limits with a burst), built on rate-limiter-flexible in Redis when the nodes
 * share one (so a user's budget holds cluster-wide), with an in-memory insurance limiter that
 * takes over while Redis fails and `inMemoryBlockOnConsumed` so that a key over its limit is
 * refused locally until its window ends, without a Redis round trip per refused event.
 */
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { WindowCounts } from './window-counts.js';

export interface RateLimitSpec {
  /** Names the limit in Redis keys and logs. */
  name: string;
  points: number;
  durationSeconds: number;
  /** Extra points for bursts, granted once per `burstDurationSeconds`. */
  burst?: { points: number; durationSeconds: number };
  /** Shared across nodes (Redis) when the server has a Redis connection for limits. */
  shared: boolean;
}

/** A refusal: how long until the same key may try again. */
export interface Refusal {
  retryAfterMs: number;
}

export interface RateLimit {
  /** Takes `points` (default 1) for `key`; resolves a refusal when the key is over its limit. */
  consume(key: string, points?: number): Promise<Refusal | undefined>;
}

/** No limit (configured as 0): never refuses. */
const unlimited: RateLimit = { consume: async () => undefined };

/** True for a limit configured as 0 (it never refuses): what it would guard need not be tracked. */
export function isUnlimited(limit: RateLimit): boolean {
  return limit === unlimited;
}

interface Consumer {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}

/** Builds rate limits on one node, or on a shared Redis when `redis` is given. */
export class RateLimitFactory {
  constructor(
    private readonly redis: Redis | undefined,
    private readonly keyPrefix: string,
    private readonly log: Logger,
  ) {}

  create(spec: RateLimitSpec): RateLimit {
    if (spec.points <= 0) return unlimited;
    // Counted on this node alone: a map entry per key, not a record and a timer (window-counts.ts).
    if (!spec.burst && (!spec.shared || !this.redis)) {
      return new WindowCounts({ points: spec.points, durationMs: spec.durationSeconds * 1000 });
    }
    const main = this.limiter(spec.name, spec.points, spec.durationSeconds, spec.shared);
    const consumer: Consumer = spec.burst
      ? new BurstyRateLimiter(
          main,
          this.limiter(`${spec.name}-burst`, spec.burst.points, spec.burst.durationSeconds, spec.shared),
        )
      : main;
    return {
      consume: async (key, points = 1) => {
        try {
          await consumer.consume(key, points);
          return undefined;
        } catch (err) {
          if (err instanceof RateLimiterRes) return { retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) };
          // Neither Redis nor the insurance limiter answered: let the caller through rather than
          // refuse everyone because the limiter's store failed.
          this.log.warn({ err, limit: spec.name }, 'rate limiter failed; allowed');
          return undefined;
        }
      },
    };
  }

  private limiter(name: string, points: number, duration: number, shared: boolean): RateLimiterAbstract {
    const keyPrefix = `${this.keyPrefix}${name}`;
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!shared || !this.redis) return memory;
    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix,
      points,
      duration,
      rejectIfRedisNotReady: true,
      // Over the limit: refused here until the window ends, with no Redis call.
      inMemoryBlockOnConsumed: points + 1,
      // While Redis fails, each node counts alone (the limit then holds per node).
      insuranceLimiter: memory,
    });
  }
}
