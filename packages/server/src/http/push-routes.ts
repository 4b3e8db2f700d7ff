/**
 * Push-target registration with the user's token (docs/push.md): `POST /v1/push/devices`
 * registers `{provider, token, deviceId?}` for the token's user, `DELETE /v1/push/devices`
 * removes by `{provider, token}` or `{deviceId}`. Stored in the store's PushStore.
 */
import type { FastifyInstance } from 'fastify';
import {
  ErrorCode,
  TetherError,
  httpPushRegisterSchema,
  httpPushUnregisterSchema,
  parseFrame,
  type HttpPushRegisterReply,
  type HttpPushUnregisterReply,
} from '@tether/protocol';
import type { TokenClaims } from '../auth/verify-token.js';
import type { PushProvider } from '../push/provider.js';
import type { PushStore } from '../store/push-types.js';
import { bearerOf } from './credentials.js';

export interface PushRoutesDeps {
  push: PushStore;
  /** The configured providers: a registration must name one that is `perDevice`. */
  providers: readonly PushProvider[];
  maxDevicesPerUser: number;
  verifyToken: (token: string) => Promise<TokenClaims>;
  now: () => number;
}

export function registerPushRoutes(app: FastifyInstance, deps: PushRoutesDeps): void {
  app.post('/v1/push/devices', async (request): Promise<HttpPushRegisterReply> => {
    const claims = await deps.verifyToken(bearerOf(request));
    const body = parseFrame(httpPushRegisterSchema, request.body, 'push device body');
    const provider = deps.providers.find((p) => p.name === body.provider);
    if (!provider?.perDevice) {
      const names = deps.providers.filter((p) => p.perDevice).map((p) => p.name);
      throw new TetherError(
        ErrorCode.PushProviderUnknown,
        `no provider "${body.provider}" takes device registrations here (${names.length > 0 ? names.join(', ') : 'none configured'})`,
      );
    }
    const invalid = provider.checkToken?.(body.token);
    if (invalid !== undefined) throw new TetherError(ErrorCode.PushTokenInvalid, `${provider.name} token: ${invalid}`);
    // Without a device id the token names the target: a new token is a new target.
    const deviceId = body.deviceId ?? `${body.provider}:${body.token.slice(0, 64)}`;
    const device = { tenant: claims.tenant, sub: claims.sub, provider: body.provider, token: body.token, deviceId };
    const { evicted } = await deps.push.registerDevice(device, deps.maxDevicesPerUser, deps.now());
    return { registered: { provider: body.provider, deviceId }, evicted };
  });

  app.delete('/v1/push/devices', async (request): Promise<HttpPushUnregisterReply> => {
    const claims = await deps.verifyToken(bearerOf(request));
    const body = parseFrame(httpPushUnregisterSchema, request.body, 'push device body');
    return { removed: await deps.push.unregisterDevices(claims.tenant, claims.sub, body) };
  });
}
