/**
 * Read receipts and unread counts over HTTP (docs/protocol.md): `POST /v1/read {channel, offset}`
 * with the user's token (a client on the HTTP fallback marks read too), and `GET /v1/unread
 * ?channel=a&channel=b` with the user's token, or with an API key of the tenant and `sub=<user>`
 * (the app's backend asking for a user: no permission check, it is the tenant's own key).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  DEFAULT_TENANT,
  ErrorCode,
  MAX_UNREAD_CHANNELS,
  TetherError,
  channelName,
  parseFrame,
  readFrameSchema,
  tenantName,
  type ReadReply,
  type UnreadReply,
} from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { TokenClaims } from '../auth/verify-token.js';
import type { ReadReceipts } from '../presence/read-receipts.js';
import type { ApiKey } from '../options.js';
import { ApiKeyRing, bearerOf } from './credentials.js';

/** `channel` once is a string, repeated an array (fastify's query parser). */
const httpUnreadQuerySchema = z.strictObject({
  channel: z.union([channelName, z.array(channelName).max(MAX_UNREAD_CHANNELS)]).optional(),
  /** With an API key: the user asked about. */
  sub: z.string().min(1).max(256).optional(),
  /** With a tenant-wide (`*`) API key: the user's tenant (default `default`). */
  tenant: tenantName.optional(),
});

export interface ReadStateRoutesDeps {
  receipts: ReadReceipts;
  verifyToken: (token: string) => Promise<TokenClaims>;
  apiKeys: readonly ApiKey[];
}

export function registerReadStateRoutes(app: FastifyInstance, deps: ReadStateRoutesDeps): void {
  const keys = new ApiKeyRing(deps.apiKeys);
  const userOf = async (token: string): Promise<AuthContext> => ({
    ...(await deps.verifyToken(token)),
    deviceId: 'http',
  });

  app.post('/v1/read', async (request): Promise<ReadReply> => {
    const ctx = await userOf(bearerOf(request));
    const body = parseFrame(readFrameSchema, request.body, 'read body');
    return deps.receipts.markRead(ctx, body.channel, body.offset);
  });

  app.get('/v1/unread', async (request): Promise<UnreadReply> => {
    const credential = bearerOf(request);
    const query = parseFrame(httpUnreadQuerySchema, request.query, 'unread query');
    const channels = typeof query.channel === 'string' ? [query.channel] : query.channel;
    if (query.sub === undefined) {
      if (query.tenant !== undefined)
        throw new TetherError(ErrorCode.BadRequest, '`tenant` goes with an API key and `sub`');
      return deps.receipts.unread(await userOf(credential), channels);
    }
    const key = keys.find(credential);
    if (key.tenant !== '*' && query.tenant !== undefined && query.tenant !== key.tenant) {
      throw new TetherError(ErrorCode.Forbidden, 'this API key may not read that tenant');
    }
    const tenant = key.tenant === '*' ? (query.tenant ?? DEFAULT_TENANT) : key.tenant;
    const ctx: AuthContext = { tenant, sub: query.sub, deviceId: 'http', channels: [], publish: [], exp: undefined };
    return deps.receipts.unread(ctx, channels, { trusted: true });
  });
}
