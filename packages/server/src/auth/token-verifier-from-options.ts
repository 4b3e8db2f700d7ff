/** Builds the server's one token verifier from its resolved options. */
import type { Logger } from 'pino';
import type { ResolvedOptions } from '../options.js';
import { jwksUrlOf } from './check-auth-options.js';
import { JwksKeySource } from './jwks-key-source.js';
import { importPublicKeys } from './public-keys.js';
import { cachedTokenVerifier } from './token-cache.js';
import { createTokenVerifier, secretKey, type VerifyToken } from './verify-token.js';

export function tokenVerifierFromOptions(o: ResolvedOptions, log: Logger): VerifyToken {
  const jwks =
    o.jwksUrl === undefined
      ? undefined
      : new JwksKeySource({
          url: jwksUrlOf(o.jwksUrl),
          cooldownMs: o.jwksCooldownMs,
          cacheMaxAgeMs: o.jwksCacheMaxAgeMs,
          timeoutMs: o.jwksTimeoutMs,
          onFetchError: (err) =>
            log.warn({ err, jwksUrl: String(o.jwksUrl) }, 'JWKS fetch failed; keeping the last good key set'),
        });
  const verify = createTokenVerifier({
    secret: o.jwtSecret === undefined ? undefined : secretKey(o.jwtSecret),
    publicKeys: importPublicKeys(o.jwtPublicKeys),
    jwks,
    issuer: o.jwtIssuer,
    audience: o.jwtAudience,
    maxLifetimeSeconds: o.maxTokenLifetimeSeconds,
    clockSkewSeconds: o.clockSkewSeconds,
  });
  return cachedTokenVerifier(verify, { maxEntries: o.tokenCacheSize, ttlMs: o.tokenCacheTtlMs, now: o.now });
}
