/**
 * The admin endpoints (admin key, `Authorization: Bearer <key>`): `GET /v1/stats` (the cluster's
 * figures, stats/stats-service.ts) and `GET /v1/trace?tenant=&sub=&channel=` (where each device of
 * a user stands on a channel, stats/trace.ts). Without a configured admin key both refuse.
 */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_TENANT, ErrorCode, TetherError, isValidChannel, isValidTenant } from '@tether/protocol';
import type { StatsAnswer } from '../stats/types.js';
import type { TraceAnswer, TraceQuestion } from '../stats/trace.js';
import { ApiKeyRing, bearerOf } from './credentials.js';

/** A user id in a trace query, at most this long. */
const MAX_SUB_LENGTH = 256;

export interface AdminRoutesDeps {
  adminKeys: readonly string[];
  stats: () => Promise<StatsAnswer>;
  trace: (question: TraceQuestion) => Promise<TraceAnswer>;
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const keys = new ApiKeyRing(deps.adminKeys.map((key) => ({ key, tenant: '*' })));
  const requireAdmin = (authorization: string): void => {
    if (deps.adminKeys.length === 0) {
      throw new TetherError(ErrorCode.Unauthorized, 'no admin key is configured (option `adminKeys`)');
    }
    try {
      keys.find(authorization);
    } catch {
      throw new TetherError(ErrorCode.Unauthorized, 'unknown admin key');
    }
  };

  app.get('/v1/stats', async (request, reply) => {
    requireAdmin(bearerOf(request));
    void reply.header('cache-control', 'no-store');
    return deps.stats();
  });

  app.get('/v1/trace', async (request, reply) => {
    requireAdmin(bearerOf(request));
    void reply.header('cache-control', 'no-store');
    return deps.trace(traceQuestionOf(request.query));
  });
}

function traceQuestionOf(query: unknown): TraceQuestion {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  const tenant = q.tenant === undefined || q.tenant === '' ? DEFAULT_TENANT : q.tenant;
  if (!isValidTenant(tenant)) throw new TetherError(ErrorCode.BadRequest, 'trace: `tenant` is not a valid tenant name');
  if (typeof q.sub !== 'string' || q.sub === '' || q.sub.length > MAX_SUB_LENGTH) {
    throw new TetherError(
      ErrorCode.BadRequest,
      `trace: \`sub\` (the user id, 1 to ${MAX_SUB_LENGTH} characters) is required`,
    );
  }
  if (!isValidChannel(q.channel))
    throw new TetherError(ErrorCode.InvalidChannel, 'trace: `channel` is not a valid channel name');
  return { tenant, sub: q.sub, channel: q.channel };
}
