/** `auth`: how user tokens are verified (the `jwt*` / `jwks*` server options, same names). */
import { z } from 'zod';

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const authSection = z.strictObject({
  /** HS256 secret (at least 16 characters, as the server asks). Default: `TETHER_JWT_SECRET`, else the dev secret. */
  jwtSecret: z.string().min(16).optional(),
  /** Public keys: SPKI PEM texts or public JWK objects. */
  jwtPublicKeys: z.array(z.union([z.string().min(1), z.record(z.string(), z.unknown())])).optional(),
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  jwksCooldownMs: z.int().positive().optional(),
  jwksCacheMaxAgeMs: z.int().positive().optional(),
  jwksTimeoutMs: z.int().positive().optional(),
  jwtIssuer: oneOrMany.optional(),
  jwtAudience: oneOrMany.optional(),
  maxTokenLifetimeSeconds: z.int().positive().optional(),
  clockSkewSeconds: z.int().min(0).optional(),
  /** Verified tokens remembered (0: off). Default 10 000. */
  tokenCacheSize: z.int().min(0).optional(),
  /** Longest a remembered verification is trusted, ms. Default 60 000. */
  tokenCacheTtlMs: z.int().positive().optional(),
});
