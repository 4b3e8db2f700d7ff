/**
 * Socket.IO middleware (before the token check): the first namespace connect of an Engine.IO
 * connection was paid for at the HTTP gate; every further one over the same transport (a client
 * retrying its token without reconnecting) takes a connection attempt of its IP. A refusal is a
 * `connect_error` whose `data` is `{code: 'rate_limited', message, retryAfterMs}`.
 */
import type { ExtendedError, Socket } from 'socket.io';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { StatsCounter } from '../delivery/stats.js';
import type { FirstRequests } from './first-request.js';
import { isUnlimited, type RateLimit } from './rate-limit.js';

export interface ConnectLimitDeps {
  /** The client IP of a socket, also once its connection let go of its first request. */
  requests: FirstRequests;
  attempts: RateLimit;
  stats: StatsCounter;
  dryRun: boolean;
}

export function connectLimitMiddleware(deps: ConnectLimitDeps) {
  // No attempt limit: nothing to pay, and no connection to remember (a WeakSet entry each).
  if (isUnlimited(deps.attempts)) return (_socket: Socket, next: (err?: ExtendedError) => void): void => next();
  const paid = new WeakSet<object>();
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const conn = socket.conn as object;
    if (!paid.has(conn)) {
      paid.add(conn);
      return next();
    }
    const ip = deps.requests.clientIpOf(socket);
    deps.attempts.consume(ip).then(
      (refusal) => {
        if (!refusal) return next();
        deps.stats.values.rateLimited.connectionAttempts++;
        if (deps.dryRun) return next();
        const error = new TetherError(ErrorCode.RateLimited, `too many connection attempts from ${ip}`, {
          retryAfterMs: refusal.retryAfterMs,
        });
        const err = new Error(error.message) as ExtendedError;
        err.data = error.toJSON();
        next(err);
      },
      () => next(),
    );
  };
}
