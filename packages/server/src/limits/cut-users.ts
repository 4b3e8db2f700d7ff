/**
 * Users whose connection was cut for sending on while rate limited: until their limit's window
 * ends, a new connection of theirs is refused at the handshake (`connect_error` with
 * `rate_limited` and `retryAfterMs`), so that reconnecting at once does not buy another round of
 * refusals, and each such refusal costs its IP several connection attempts. Per node: on another
 * node the user starts with its refusal allowance again.
 */
import type { ExtendedError, Socket } from 'socket.io';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { HandshakeData } from '../auth/handshake.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { FirstRequests } from './first-request.js';
import type { RateLimit } from './rate-limit.js';

/**
 * Connection attempts a refused reconnect of a cut user costs its IP: a client that reconnects at
 * once, again and again, soon meets the HTTP gate's cheap 429 instead of a WebSocket upgrade and a
 * token check each time.
 */
const REFUSED_RECONNECT_COST = 10;

export class CutUsers {
  private readonly until = new Map<string, number>();

  /** Refuses the user's connections for `ms`. */
  cut(user: string, ms: number): void {
    const ends = Date.now() + ms;
    this.until.set(user, ends);
    // One timer per cut user (there are few) keeps the map from holding users that came back.
    setTimeout(() => {
      if (this.until.get(user) === ends) this.until.delete(user);
    }, ms).unref();
  }

  /** Milliseconds the user must still wait, or undefined. */
  waitOf(user: string): number | undefined {
    const ends = this.until.get(user);
    if (ends === undefined) return undefined;
    const left = ends - Date.now();
    return left > 0 ? left : undefined;
  }

  /** Socket.IO middleware, after the token check (it needs the user). */
  middleware(stats: StatsCounter, attempts: RateLimit, requests: FirstRequests) {
    return (socket: Socket, next: (err?: ExtendedError) => void): void => {
      const { ctx } = socket.data as HandshakeData;
      const wait = this.waitOf(userKey(ctx.tenant, ctx.sub));
      if (wait === undefined) return next();
      stats.values.rateLimited.connectionAttempts++;
      void attempts.consume(requests.clientIpOf(socket), REFUSED_RECONNECT_COST);
      const error = new TetherError(ErrorCode.RateLimited, 'this user was cut off for ignoring rate limits', {
        retryAfterMs: wait,
      });
      const err = new Error(error.message) as ExtendedError;
      err.data = error.toJSON();
      next(err);
    };
  }
}

/** The key of a user's limits (tenant and sub). */
export function userKey(tenant: string, sub: string): string {
  return JSON.stringify([tenant, sub]);
}
