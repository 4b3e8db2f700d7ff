/**
 * Client events per connection (memory, on its node) and per user (cluster-wide with Redis),
 * checked in a `socket.use` middleware before any handler runs. Acks and probes are not counted:
 * they are the client keeping up, not asking for work. A refused event gets `rate_limited` with
 * `retryAfterMs`, through its ack callback when it has one, else as an `error` event; the
 * connection stays open and nothing of the event is done.
 */
import type { Socket } from 'socket.io';
import type { Logger } from 'pino';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { RateLimit } from './rate-limit.js';

const NOT_COUNTED = new Set(['ack', 'probe']);

export interface EventLimitDeps {
  perConnection: RateLimit;
  perUser: RateLimit;
  stats: StatsCounter;
  log: Logger;
  dryRun: boolean;
}

type Packet = unknown[];

export function eventLimitMiddleware(socket: Socket, ctx: AuthContext, deps: EventLimitDeps) {
  const user = JSON.stringify([ctx.tenant, ctx.sub]);
  return (packet: Packet, next: (err?: Error) => void): void => {
    const event = packet[0];
    if (typeof event === 'string' && NOT_COUNTED.has(event)) return next();
    void check(socket.id, user, deps).then((refusal) => {
      if (!refusal) return next();
      deps.stats.values.rateLimited.events++;
      if (deps.dryRun) {
        deps.log.debug({ sub: ctx.sub, tenant: ctx.tenant, event }, 'event would be refused (limits.dryRun)');
        return next();
      }
      const body = refusal.toJSON();
      const reply = packet.at(-1);
      if (packet.length > 1 && typeof reply === 'function') (reply as (r: unknown) => void)({ error: body });
      else socket.emit('error', body);
    });
  };
}

async function check(connection: string, user: string, deps: EventLimitDeps): Promise<TetherError | undefined> {
  const local = await deps.perConnection.consume(connection);
  if (local) return refused('this connection', local.retryAfterMs);
  const shared = await deps.perUser.consume(user);
  if (shared) return refused('this user', shared.retryAfterMs);
  return undefined;
}

function refused(who: string, retryAfterMs: number): TetherError {
  return new TetherError(ErrorCode.RateLimited, `too many events from ${who}; retry in ${retryAfterMs} ms`, {
    retryAfterMs,
  });
}
