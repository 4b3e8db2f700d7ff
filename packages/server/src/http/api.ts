import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  ErrorCode,
  TetherError,
  httpAckSchema,
  httpPollSchema,
  inboxOf,
  parseFrame,
  type PollChannelMessages,
  type PollChannelResync,
  type PollResponse,
  type Position,
} from '@tether/protocol';
import type { PublishResult } from '../api.js';
import type { AcceptedPublish } from '../delivery/publish-door.js';
import { countRefusal } from '../delivery/refusals.js';
import { parsePublishInput } from '../delivery/publish-input.js';
import type { TokenClaims } from '../auth/verify-token.js';
import type { Permissions } from '../auth/permissions.js';
import type { AuthContext } from '../auth/context.js';
import type { LogStore } from '../store/types.js';
import type { AckLedger } from '../delivery/ack-ledger.js';
import type { AppendSignal } from '../delivery/append-signal.js';
import { yieldLoop, type Replayer } from '../delivery/replayer.js';
import type { StatsCounter } from '../delivery/stats.js';
import { streamOf } from '../delivery/channel-registry.js';
import { envelopeOf } from '../delivery/msg-frame.js';
import type { ApiKey } from '../options.js';
import { ApiKeyRing, bearerOf } from './credentials.js';
import { registerAdminRoutes, type AdminRoutesDeps } from './admin-routes.js';
import { registerDashboard } from './dashboard-route.js';
import { parseHistoryQuery, readHistory } from './history.js';
import { priorityTiers, type ReplayPriorityDeps } from '../delivery/replay-priority.js';
import { sendError } from './errors.js';
import type { Guard } from '../guard/guard.js';
import { boundJsonBodyDepth } from '../guard/json-body.js';
import { registerPushRoutes, type PushRoutesDeps } from './push-routes.js';
import { registerReadStateRoutes } from './read-state-routes.js';
import type { ReadReceipts } from '../presence/read-receipts.js';
import type { RelevanceFilter } from '../delivery/relevance.js';
import { registerPresenceRoutes } from './presence-routes.js';
import type { PresenceTracker } from '../presence/tracker.js';

export interface HttpApiDeps {
  store: LogStore;
  replayer: Replayer;
  /** Orders a poll answer's channels by the priority of what they have pending. */
  replayPriority: ReplayPriorityDeps;
  permissions: Permissions;
  ackLedger: AckLedger;
  signal: AppendSignal;
  stats: StatsCounter;
  log: Logger;
  apiKeys: readonly ApiKey[];
  verifyToken: (token: string) => Promise<TokenClaims>;
  /** The publish door (it checks `data`, defaults the tenant and id, and waits for the node to start). */
  publish: (input: AcceptedPublish) => Promise<PublishResult>;
  ready: () => Promise<boolean>;
  /** Aborted when the server closes: long-polls answer at once. */
  closing: AbortSignal;
  maxPayloadBytes: number;
  maxChannelsPerConnection: number;
  replayBatchSize: number;
  /** Bytes of messages in one poll answer, all channels together. */
  maxBatchBytes: number;
  /** Most messages per history answer, and its default `limit`. */
  maxHistoryLimit: number;
  maxPollWaitSeconds: number;
  /** Browser origins allowed to call the API (the HTTP fallback from a page). Default none. */
  corsOrigins: readonly string[];
  guard: Guard;
  /** Bodies nest at most this deep: a publish body is its `data` plus one level. */
  maxDataDepth: number;
  /** Whether a peer is a trusted proxy (its `X-Forwarded-For` then names the client); the socket path's rule. */
  trustProxy?: (address: string) => boolean;
  /**
   * Takes one publish of this API key; rejects with `rate_limited` over the limit. Undefined (from
   * the function or as the function) when no limit applies.
   */
  limitHttpPublish?: (apiKey: string) => Promise<void> | undefined;
  /** Takes one request of a user with a verified token; throws `rate_limited` over the limit. */
  limitHttpUser?: (tenant: string, sub: string) => Promise<void>;
  /** Push-target registration (`/v1/push/devices`). */
  pushDevices: Omit<PushRoutesDeps, 'verifyToken'>;
  /** `POST /v1/read`, `GET /v1/unread` (read-state-routes.ts). */
  readReceipts: ReadReceipts;
  /** The relevance rules, for `GET /v1/history?relevant=true`. */
  relevance: RelevanceFilter;
  now: () => number;
  /** `/v1/stats` and `/v1/trace`, with an admin key. */
  admin: AdminRoutesDeps;
  /** Where the dashboard page is served; undefined: no dashboard. */
  dashboardPath?: string;
  /** `/v1/presence/…` (undefined: presence is off, they answer `not_found`). */
  presence: PresenceTracker | undefined;
  /** Routes of other modules (the metrics endpoint: metrics/http.ts), registered with these. */
  routes?: readonly ((app: FastifyInstance) => void)[];
}

/**
 * The HTTP API (fastify): publish with an API key, and the stateless fallback — long-poll and
 * ack with a user token, answered by any node the same way the socket path would.
 */
export async function buildHttpApi(deps: HttpApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Room for `data` at its limit plus the envelope; `data` itself is checked exactly.
    bodyLimit: deps.maxPayloadBytes * 2 + 16_384,
    // Per-request logs would dwarf the rest at thousands of polls a second.
    logController: new LogController({ disableRequestLogging: true }),
    ...(deps.trustProxy ? { trustProxy: deps.trustProxy } : {}),
  });
  const keys = new ApiKeyRing(deps.apiKeys);
  boundJsonBodyDepth(app, deps.maxDataDepth + 1);
  if (deps.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...deps.corsOrigins], methods: ['GET', 'POST', 'DELETE'], maxAge: 600 });
  }

  app.setErrorHandler((err, request, reply) => {
    // The guard: whatever a route threw becomes a documented code (`internal` only for server faults).
    const error = deps.guard.refuse(err, { ip: request.ip, what: `${request.method} ${request.url}` }, request.log);
    countRefusal(deps.stats, error.code);
    sendError(error, request, reply);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(new TetherError(ErrorCode.NotFound, `no route ${request.method} ${request.url}`), request, reply),
  );

  // Every route with a user token verifies it here, and spends one request of the user's budget.
  const verifyUser = async (authorization: string): Promise<TokenClaims> => {
    const claims = await deps.verifyToken(authorization);
    await deps.limitHttpUser?.(claims.tenant, claims.sub);
    return claims;
  };
  const userOf = async (authorization: string, deviceId?: string): Promise<AuthContext> => {
    const claims = await verifyUser(authorization);
    return { ...claims, deviceId: deviceId ?? 'http' };
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  for (const route of deps.routes ?? []) route(app);
  app.get('/readyz', async (request, reply) => {
    if (await deps.ready()) return { status: 'ready' };
    return sendError(new TetherError(ErrorCode.StoreUnavailable, 'store unreachable'), request, reply);
  });

  // A publish body, once its key has passed: parsed, its tenant checked, handed to the door.
  const publishBody = (key: ApiKey, raw: unknown): Promise<PublishResult> => {
    const body = parsePublishInput(raw, 'publish body');
    // A tenant-wide key publishes to the body's tenant (the door defaults it), a scoped key to its own.
    if (key.tenant !== '*') {
      if (body.tenant !== undefined && body.tenant !== key.tenant) {
        throw new TetherError(ErrorCode.Forbidden, 'this API key may not publish to that tenant');
      }
      body.tenant = key.tenant; // the parse's own new object: set in place, not spread into a copy
    }
    return deps.publish(body);
  };
  // Not async: the door's promise is the answer, with no promise of the route's around it (a throw
  // here reaches the error handler as a rejection would). With no limit configured, no promise waits for it.
  app.post('/v1/publish', (request) => {
    const key = keys.find(bearerOf(request));
    const limited = deps.limitHttpPublish?.(key.key);
    return limited ? limited.then(() => publishBody(key, request.body)) : publishBody(key, request.body);
  });

  app.post('/v1/poll', async (request, reply): Promise<PollResponse> => {
    const ctx = await userOf(bearerOf(request));
    const body = parseFrame(httpPollSchema, request.body, 'poll body');
    const positions = new Map<string, Position | undefined>(
      Object.entries(body.positions).map(([channel, position]) => [channel, position ?? undefined]),
    );
    if (!positions.has(inboxOf(ctx.sub))) positions.set(inboxOf(ctx.sub), undefined);
    if (positions.size > deps.maxChannelsPerConnection) {
      throw new TetherError(ErrorCode.TooManyChannels, `at most ${deps.maxChannelsPerConnection} channels`);
    }
    for (const channel of positions.keys()) await deps.permissions.check(ctx, channel, 'subscribe');
    const waitMs = Math.min(body.wait ?? 0, deps.maxPollWaitSeconds) * 1000;
    // The response's `close` (not the request's, which fires once the body is read) tells of a caller gone.
    return poll(deps, ctx, positions, Date.now() + waitMs, reply.raw);
  });

  app.get('/v1/history', async (request) => {
    const ctx = await userOf(bearerOf(request));
    const query = parseHistoryQuery(request.query, deps.maxHistoryLimit);
    return readHistory(deps, ctx, query);
  });

  app.post('/v1/ack', async (request) => {
    const body = parseFrame(httpAckSchema, request.body, 'ack body');
    const ctx = await userOf(bearerOf(request), body.deviceId);
    const entries = Object.entries(body.acks);
    if (entries.length > deps.maxChannelsPerConnection) {
      throw new TetherError(ErrorCode.TooManyChannels, `at most ${deps.maxChannelsPerConnection} channels`);
    }
    // Check every channel before recording any: a refused request changes nothing.
    for (const [channel] of entries) await deps.permissions.check(ctx, channel, 'subscribe');
    const acks: Record<string, number> = {};
    for (const [channel, offset] of entries) {
      const stream = streamOf(ctx.tenant, channel);
      const { head } = await deps.store.info(stream);
      const acked = Math.min(offset, head);
      deps.ackLedger.record(stream, ctx.sub, ctx.deviceId, acked);
      acks[channel] = acked;
    }
    return { acks };
  });

  registerPushRoutes(app, { ...deps.pushDevices, verifyToken: verifyUser });
  registerReadStateRoutes(app, { receipts: deps.readReceipts, verifyToken: verifyUser, apiKeys: deps.apiKeys });
  registerAdminRoutes(app, deps.admin);
  if (deps.dashboardPath !== undefined) registerDashboard(app, deps.dashboardPath);
  registerPresenceRoutes(app, {
    presence: deps.presence,
    permissions: deps.permissions,
    keys,
    verifyToken: verifyUser,
  });

  await app.ready();
  return app;
}

async function poll(
  deps: HttpApiDeps,
  ctx: AuthContext,
  positions: ReadonlyMap<string, Position | undefined>,
  deadline: number,
  response: NodeJS.EventEmitter,
): Promise<PollResponse> {
  const streams = [...positions.keys()].map((channel) => streamOf(ctx.tenant, channel));
  const gone = new AbortController();
  response.once('close', () => gone.abort());
  for (;;) {
    // Listen before reading, so a publish landing between the read and the wait still wakes us.
    const stop = new AbortController();
    const abort = AbortSignal.any([stop.signal, gone.signal, deps.closing]);
    const woken = deps.signal.wait(streams, Math.max(0, deadline - Date.now()), abort);
    const answer: PollResponse = { channels: {} };
    let news = false;
    // One byte budget for the whole answer, spent channel by channel, highest priority pending first
    // (the answer's keys keep that order); a channel it has no room left for is left out (its
    // position stays; the next poll reads it).
    let budget = deps.maxBatchBytes;
    const ordered = (await priorityTiers(deps.replayPriority, ctx, positions)).flat();
    for (const [channel, position] of ordered) {
      if (budget <= 0 && position !== undefined) continue;
      const { result, bytes } = await readChannel(deps, ctx, channel, position, budget);
      answer.channels[channel] = result;
      if ('resync' in result || position === undefined || result.upTo > position.offset) news = true;
      budget -= bytes;
      await yieldLoop();
    }
    if (news || Date.now() >= deadline || abort.aborted) {
      stop.abort();
      return answer;
    }
    await woken;
  }
}

async function readChannel(
  deps: HttpApiDeps,
  ctx: AuthContext,
  channel: string,
  position: Position | undefined,
  maxBytes: number,
): Promise<{ result: PollChannelMessages | PollChannelResync; bytes: number }> {
  const stream = streamOf(ctx.tenant, channel);
  if (position === undefined) {
    // No position yet: start from now, and tell the caller where that is.
    const info = await deps.store.info(stream);
    return { result: { epoch: info.epoch, messages: [], upTo: info.head }, bytes: 0 };
  }
  const outcome = await deps.replayer.read({
    stream,
    position,
    ctx: { tenant: ctx.tenant, sub: ctx.sub, deviceId: ctx.deviceId, channel },
    limit: deps.replayBatchSize,
    maxBytes,
    // Only the answer's first channel may bring one message larger than the whole budget.
    firstAnyway: maxBytes === deps.maxBatchBytes,
    path: 'http',
  });
  if (outcome.kind === 'resync') {
    deps.stats.resync(outcome.reason);
    return { result: { resync: { epoch: outcome.epoch, offset: outcome.offset } }, bytes: 0 };
  }
  const { epoch, messages, upTo, bytes } = outcome;
  return { result: { epoch, messages: messages.map(envelopeOf), upTo }, bytes };
}
