/**
 * Issues HS256 user tokens with Tether's claims. Used by the `tether token` command, by the dev
 * banner of `tether serve`, and by apps and tests (re-exported from the server's public index).
 */
import { SignJWT } from 'jose';
import { inboxOf, isValidChannel, isValidTenant } from '@tether/protocol';
import { secretKey } from './verify-token.js';

export interface IssueTokenOptions {
  /** The HS256 secret the server verifies with (`jwtSecret`). A string is used as its UTF-8 bytes. */
  secret: string | Uint8Array;
  /** The user id (`sub` claim). Required. */
  sub: string;
  /** The tenant (`tenant` claim). Default: no claim, which the server reads as `default`. */
  tenant?: string;
  /** Glob patterns of channels the user may subscribe to (`channels` claim). Default: no claim. */
  channels?: readonly string[];
  /** Glob patterns of channels the user may publish to (`publish` claim). Default: no claim. */
  publish?: readonly string[];
  /** Lifetime in seconds (`exp` = now + ttl). Default 3600. */
  ttlSeconds?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export async function issueToken(options: IssueTokenOptions): Promise<string> {
  const { sub, tenant, channels, publish } = options;
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  // The same checks as the server's verifier: a token it would refuse is not worth signing.
  if (sub === '' || !isValidChannel(inboxOf(sub)))
    throw new TypeError(`issueToken: invalid sub '${sub}' (user:<sub> must be a channel name)`);
  if (tenant !== undefined && !isValidTenant(tenant)) throw new TypeError(`issueToken: invalid tenant '${tenant}'`);
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError(`issueToken: \`ttlSeconds\` must be a positive number, got ${ttlSeconds}`);
  }
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const claims: Record<string, unknown> = {};
  if (tenant !== undefined) claims['tenant'] = tenant;
  if (channels !== undefined) claims['channels'] = [...channels];
  if (publish !== undefined) claims['publish'] = [...publish];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(ttlSeconds))
    .sign(secretKey(options.secret));
}
