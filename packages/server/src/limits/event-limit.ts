/**
 * Client events per connection (memory, on its node) and per user (cluster-wide with Redis),
 * checked in a `socket.use` middleware before any handler runs. Acks and probes are not counted:
 * they are the client keeping up, not asking for work. A refused event gets `rate_limited` with
 * `retryAfterMs`, through its ack callback when it has one, else as an `error` event; nothing of
 * the event is done. A connection that keeps sending regardless (more refusals in a minute than
 * `maxRefusalsPerConnection`) is disconnected after an `error` frame saying so, and its user may
 * not connect again until the window ends (cut-users.ts): answering a flood one refusal at a time
 * would still cost the server a write per frame.
 */
import type { Socket } from 'socket.io';
import type { Logger } from 'pino';
import { ErrorCode, type ErrorBody } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { RateLimit, Refusal } from './rate-limit.js';
import { userKey, type CutUsers } from './cut-users.js';

const NOT_COUNTED = new Set(['ack', 'probe']);
const REFUSAL_WINDOW_MS = 60_000;

export interface EventLimitDeps {
  perConnection: RateLimit;
  perUser: RateLimit;
  stats: StatsCounter;
  log: Logger;
  dryRun: boolean;
  /** Refusals in a minute after which the connection is cut; 0: never. */
  maxRefusals: number;
  /** Where a cut user is kept out until its window ends. */
  cutUsers: CutUsers;
}

type Packet = unknown[];

export function eventLimitMiddleware(socket: Socket, ctx: AuthContext, deps: EventLimitDeps) {
  // Made on the first counted event: an idle connection holds only this closure.
  let user: string | undefined;
  let refusals = 0;
  let windowStart = 0;
  let cut = false;
  // Checks run one after the other, so that events are let through or refused in the order they
  // came (a refusal answered sooner than an earlier event's pass would reorder them).
  let previous: Promise<unknown> | undefined;
  return (packet: Packet, next: (err?: Error) => void): void => {
    const event = packet[0];
    if (typeof event === 'string' && NOT_COUNTED.has(event)) return next();
    const key = (user ??= userKey(ctx.tenant, ctx.sub));
    const checked = (previous ?? Promise.resolve()).then(() => check(socket.id, key, deps));
    const settled = checked.catch(() => undefined);
    previous = settled;
    // Once nothing waits on it, an idle connection need not hold the last check's promise.
    void settled.then(() => {
      if (previous === settled) previous = undefined;
    });
    checked.then(
      (refusal) => {
        if (!refusal) return next();
        deps.stats.values.rateLimited.events++;
        if (deps.dryRun) {
          deps.log.debug({ sub: ctx.sub, tenant: ctx.tenant, event }, 'event would be refused (limits.dryRun)');
          return next();
        }
        // A plain body, not a TetherError: a flood makes many of these, and a stack trace each is waste.
        const body: ErrorBody = {
          code: ErrorCode.RateLimited,
          message: refusal.message,
          retryAfterMs: refusal.retryAfterMs,
        };
        const reply = packet.at(-1);
        if (packet.length > 1 && typeof reply === 'function') (reply as (r: unknown) => void)({ error: body });
        else socket.emit('error', body);

        const now = Date.now();
        if (now - windowStart > REFUSAL_WINDOW_MS) {
          windowStart = now;
          refusals = 0;
        }
        if (deps.maxRefusals > 0 && ++refusals > deps.maxRefusals && socket.connected && !cut) {
          cut = true;
          deps.stats.values.rateLimited.disconnects++;
          deps.log.info(
            { sub: ctx.sub, tenant: ctx.tenant, refusals },
            'connection cut: kept sending while rate limited',
          );
          socket.emit('error', {
            code: ErrorCode.RateLimited,
            message: `disconnected: ${refusals} events refused in a minute; wait retryAfterMs before reconnecting`,
            retryAfterMs: refusal.retryAfterMs,
          });
          deps.cutUsers.cut(key, refusal.retryAfterMs);
          // After Socket.IO has dispatched the events let through before (it does so on nextTick).
          setImmediate(() => socket.disconnect(true));
        }
      },
      () => next(),
    ); // a limiter that failed lets the event through (rate-limit.ts logs it)
  };
}

async function check(
  connection: string,
  user: string,
  deps: EventLimitDeps,
): Promise<(Refusal & { message: string }) | undefined> {
  const local = await deps.perConnection.consume(connection);
  if (local) return { ...local, message: `too many events from this connection; retry in ${local.retryAfterMs} ms` };
  const shared = await deps.perUser.consume(user);
  if (shared) return { ...shared, message: `too many events from this user; retry in ${shared.retryAfterMs} ms` };
  return undefined;
}
