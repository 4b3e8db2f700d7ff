import { errors as joseErrors, jwtVerify } from 'jose';
import { DEFAULT_TENANT, ErrorCode, TetherError, inboxOf, isValidChannel, isValidTenant } from '@tether/protocol';
import type { AuthContext } from './context.js';

export type TokenClaims = Omit<AuthContext, 'deviceId'>;

/** Turns a secret given as text or bytes into the key jose wants. */
export function secretKey(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

/**
 * Verifies an HS256 user token and reads Tether's claims. Fails with `token_expired` for an
 * expired token and `unauthorized` for anything else wrong, with the reason as `cause`.
 */
export async function verifyUserToken(token: string, key: Uint8Array): Promise<TokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new TetherError(ErrorCode.TokenExpired, 'token expired', { cause: err });
    }
    throw new TetherError(ErrorCode.Unauthorized, 'invalid token', { cause: err });
  }
  const { sub, tenant = DEFAULT_TENANT, channels = [], publish = [], exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || !isValidChannel(inboxOf(sub))) {
    throw new TetherError(ErrorCode.Unauthorized, 'token has no usable `sub` claim');
  }
  if (!isValidTenant(tenant)) throw new TetherError(ErrorCode.Unauthorized, 'token has an invalid `tenant` claim');
  if (!isStringList(channels) || !isStringList(publish)) {
    throw new TetherError(ErrorCode.Unauthorized, '`channels` and `publish` claims must be lists of strings');
  }
  return { sub, tenant, channels, publish, exp: typeof exp === 'number' ? exp : undefined };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 1000 && value.every((v) => typeof v === 'string');
}
