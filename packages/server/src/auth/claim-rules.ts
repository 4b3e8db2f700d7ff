/**
 * The rules a verified token's claims must meet beyond its signature: jose has already checked
 * `exp` (required), `nbf`, `iss` and `aud`; these are the ones jose does not do our way.
 */
import { DEFAULT_TENANT, ErrorCode, TetherError, inboxOf, isValidChannel, isValidTenant } from '@tether/protocol';
import type { JWTPayload } from 'jose';
import type { AuthContext } from './context.js';

export type TokenClaims = Omit<AuthContext, 'deviceId'>;

/** The claims' empty list, shared (frozen) by every token without channels or publish rights: +32 B a list otherwise. */
const NO_PATTERNS: readonly string[] = Object.freeze([]);

export interface TimeRules {
  /** Longest accepted `exp - iat` (or `exp - now` without `iat`), seconds. */
  maxLifetimeSeconds: number;
  /** Tolerated clock difference with the issuer, seconds. */
  clockSkewSeconds: number;
}

/** `iat` in the future beyond the skew, or a lifetime over the maximum: `unauthorized`. */
export function checkTimes(payload: JWTPayload, nowSeconds: number, rules: TimeRules): void {
  const { exp, iat } = payload;
  if (typeof exp !== 'number') throw new TetherError(ErrorCode.Unauthorized, 'token has no `exp` claim');
  if (iat !== undefined && iat > nowSeconds + rules.clockSkewSeconds) {
    throw new TetherError(ErrorCode.Unauthorized, 'token `iat` is in the future');
  }
  const lifetime = exp - (iat ?? nowSeconds);
  if (lifetime > rules.maxLifetimeSeconds) {
    throw new TetherError(
      ErrorCode.Unauthorized,
      `token lifetime ${Math.round(lifetime)} s is over the server's maximum of ${rules.maxLifetimeSeconds} s`,
    );
  }
}

/** Reads Tether's claims; anything unusable is `unauthorized`. */
export function readTetherClaims(payload: JWTPayload): TokenClaims {
  const { sub, tenant = DEFAULT_TENANT, channels = [], publish = [], exp } = payload as Record<string, unknown>;
  // `user:` alone passes the channel grammar, so an empty `sub` is refused by name.
  if (typeof sub !== 'string' || sub.length === 0 || !isValidChannel(inboxOf(sub))) {
    throw new TetherError(ErrorCode.Unauthorized, 'token has no usable `sub` claim');
  }
  if (!isValidTenant(tenant)) throw new TetherError(ErrorCode.Unauthorized, 'token has an invalid `tenant` claim');
  if (!isStringList(channels) || !isStringList(publish)) {
    throw new TetherError(ErrorCode.Unauthorized, '`channels` and `publish` claims must be lists of strings');
  }
  return {
    sub,
    tenant,
    channels: channels.length === 0 ? NO_PATTERNS : channels,
    publish: publish.length === 0 ? NO_PATTERNS : publish,
    exp: typeof exp === 'number' ? exp : undefined,
  };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 1000 && value.every((v) => typeof v === 'string');
}
