/**
 * Presence over HTTP (docs/protocol.md §8): `GET /v1/presence/users/{sub}` (status, devices,
 * lastSeen) and `GET /v1/presence/channels/{channel}` (members, or only the count). Either with an
 * API key of the tenant (a `*` key names the tenant with `?tenant=`, default `default`), or with a
 * user token: a channel as subscribing would allow it; a user, the caller itself, or a user that
 * is in a presence channel the caller may subscribe to (who could see it in that member list).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  DEFAULT_TENANT,
  ErrorCode,
  TetherError,
  channelName,
  parseFrame,
  tenantName,
  type ChannelPresenceResponse,
  type UserPresenceResponse,
} from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import type { TokenClaims } from '../auth/verify-token.js';
import { channelSnapshot, presenceOn, tenantChannelSnapshot } from '../presence/presence-frames.js';
import type { PresenceTracker } from '../presence/tracker.js';
import { bearerOf, type ApiKeyRing } from './credentials.js';

export interface PresenceRoutesDeps {
  presence: PresenceTracker | undefined;
  permissions: Permissions;
  keys: ApiKeyRing;
  verifyToken: (token: string) => Promise<TokenClaims>;
}

const querySchema = z.strictObject({ tenant: tenantName.optional() });
const userParams = z.strictObject({ sub: z.string().min(1).max(256) });
const channelParams = z.strictObject({ channel: channelName });

/** Who reads: a tenant's API key, or a user. */
type Reader = { kind: 'key'; tenant: string } | { kind: 'user'; ctx: AuthContext };

export function registerPresenceRoutes(app: FastifyInstance, deps: PresenceRoutesDeps): void {
  const readerOf = async (request: FastifyRequest): Promise<Reader> => {
    const presented = bearerOf(request);
    const { tenant } = parseFrame(querySchema, request.query, 'presence query');
    const key = findKey(deps.keys, presented);
    if (key) {
      if (key.tenant === '*') return { kind: 'key', tenant: tenant ?? DEFAULT_TENANT };
      if (tenant !== undefined && tenant !== key.tenant) {
        throw new TetherError(ErrorCode.Forbidden, 'this API key may not read that tenant');
      }
      return { kind: 'key', tenant: key.tenant };
    }
    if (tenant !== undefined)
      throw new TetherError(ErrorCode.BadRequest, '`tenant` is for API keys; a token names its own');
    const claims = await deps.verifyToken(presented);
    return { kind: 'user', ctx: { ...claims, deviceId: 'http' } };
  };

  app.get('/v1/presence/users/:sub', async (request): Promise<UserPresenceResponse> => {
    const { sub } = parseFrame(userParams, request.params, 'presence user');
    const reader = await readerOf(request);
    const tracker = presenceOn(deps.presence);
    if (reader.kind === 'key') return tracker.userPresence(reader.tenant, sub);
    const { ctx } = reader;
    if (sub !== ctx.sub && !(await sharesAChannel(tracker, deps.permissions, ctx, sub))) {
      throw new TetherError(ErrorCode.Forbidden, `not allowed to read the presence of ${sub}`);
    }
    return tracker.userPresence(ctx.tenant, sub);
  });

  app.get('/v1/presence/channels/:channel', async (request): Promise<ChannelPresenceResponse> => {
    const { channel } = parseFrame(channelParams, request.params, 'presence channel');
    const reader = await readerOf(request);
    const tracker = presenceOn(deps.presence);
    if (reader.kind === 'user') return channelSnapshot(tracker, deps.permissions, reader.ctx, channel);
    return tenantChannelSnapshot(tracker, reader.tenant, channel);
  });
}

/** The API key presented, or undefined (then it is a token, or nothing valid). */
function findKey(keys: ApiKeyRing, presented: string): ReturnType<ApiKeyRing['find']> | undefined {
  try {
    return keys.find(presented);
  } catch {
    return undefined;
  }
}

/** Whether `sub` is in a members channel the caller may subscribe to (so it sees `sub` there anyway). */
async function sharesAChannel(
  tracker: PresenceTracker,
  permissions: Permissions,
  ctx: AuthContext,
  sub: string,
): Promise<boolean> {
  for (const channel of await tracker.presenceChannelsOf(ctx.tenant, sub)) {
    if (tracker.modeOf(channel) !== 'members') continue;
    try {
      await permissions.check(ctx, channel, 'subscribe');
      return true;
    } catch {
      // not this one
    }
  }
  return false;
}
