import type { Logger } from 'pino';
import type { AuthContext } from '../auth/context.js';

/**
 * A connection's opening and closing at `debug`, from a child logger bound to its ids (socketId,
 * tenant, sub, deviceId). Made only when `debug` is on: at 100k sockets a child logger each would
 * cost memory nobody reads.
 */
export function logConnection(log: Logger, socketId: string, ctx: AuthContext, event: 'opened' | 'closed'): void {
  if (!log.isLevelEnabled('debug')) return;
  log.child({ socketId, tenant: ctx.tenant, sub: ctx.sub, deviceId: ctx.deviceId }).debug(`connection ${event}`);
}
