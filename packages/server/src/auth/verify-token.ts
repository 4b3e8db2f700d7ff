/**
 * The one token verifier: handshake, `refresh` frames and HTTP bearer tokens all go through it.
 * Keys: the HS256 secret, public keys from the options, and a JWKS URL, each accepting only its
 * own algorithms (HS256 only with the secret, never `none`). HS256 tokens with a plain header are
 * checked synchronously by `hs256.ts`; everything else by jose.
 */
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { ErrorCode, TetherError } from '@tether/protocol';
import { checkTimes, readTetherClaims, type TimeRules, type TokenClaims } from './claim-rules.js';
import { ASYMMETRIC_ALGORITHMS, type PublicVerificationKey } from './public-keys.js';
import type { JwksKeySource } from './jwks-key-source.js';
import { isPlainHs256, parseCompact, verifyHs256, type ParsedHeader } from './hs256.js';

export type { TokenClaims } from './claim-rules.js';

/** Turns a secret given as text or bytes into the key jose wants. */
export function secretKey(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

export interface TokenVerifierConfig extends TimeRules {
  /** The HS256 secret, if any. */
  secret?: Uint8Array | undefined;
  publicKeys: readonly PublicVerificationKey[];
  jwks?: JwksKeySource | undefined;
  issuer?: string | string[] | undefined;
  audience?: string | string[] | undefined;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Who checks HS256 tokens: node:crypto (`hs256.ts`, the default) or jose, which the property test
   * and the `token-verify` bench compare it with. Not a server option.
   */
  hs256With?: 'node' | 'jose';
}

export type VerifyToken = (token: string) => Promise<TokenClaims>;

interface Candidate {
  key: Uint8Array | KeyObject | JWTVerifyGetKey;
  algorithms: readonly string[];
}

const HMAC = ['HS256'];

/**
 * Fails with `token_expired` for an expired token and `unauthorized` for anything else wrong, with
 * the reason in the message and as `cause`.
 */
export function createTokenVerifier(config: TokenVerifierConfig): VerifyToken {
  const now = config.now ?? Date.now;
  const hs256 = config.secret && config.hs256With !== 'jose' ? { ...config, secret: config.secret } : undefined;
  return async (token) => {
    const nowMs = now();
    const jws = parseCompact(token);
    const payload =
      hs256 && isPlainHs256(jws.header)
        ? verifyHs256(jws, hs256, nowMs)
        : await verifyWithJose(token, jws.header, config, nowMs);
    checkTimes(payload, nowMs / 1000, config);
    return readTetherClaims(payload);
  };
}

async function verifyWithJose(
  token: string,
  header: ParsedHeader,
  config: TokenVerifierConfig,
  nowMs: number,
): Promise<JWTPayload> {
  const candidates = candidatesFor(header, config);
  let payload: JWTPayload | undefined;
  let failure: unknown;
  for (const { key, algorithms } of candidates) {
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms: [...algorithms],
        requiredClaims: ['exp'],
        clockTolerance: config.clockSkewSeconds,
        currentDate: new Date(nowMs),
        ...(config.issuer !== undefined ? { issuer: config.issuer } : {}),
        ...(config.audience !== undefined ? { audience: config.audience } : {}),
      }));
      break;
    } catch (err) {
      failure = err;
      // Another configured key of the same kind may be the signer (e.g. during a rotation).
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
    }
  }
  if (!payload) throw refusal(failure);
  return payload;
}

/** The keys that may have signed this token, by its header's `alg` and `kid`. */
function candidatesFor(header: ParsedHeader, config: TokenVerifierConfig): Candidate[] {
  const { alg, kid } = header;
  if (typeof alg !== 'string') throw new TetherError(ErrorCode.Unauthorized, 'invalid token (no `alg`)');
  if (HMAC.includes(alg)) {
    if (config.secret) return [{ key: config.secret, algorithms: HMAC }];
  } else if (ASYMMETRIC_ALGORITHMS.includes(alg)) {
    const byAlg = config.publicKeys.filter((k) => k.algorithms.includes(alg));
    const named = byAlg.filter((k) => kid !== undefined && k.kid === kid);
    if (named.length > 0) return named;
    const unnamed = byAlg.filter((k) => kid === undefined || k.kid === undefined);
    if (config.jwks) return [...unnamed, { key: config.jwks.getKey, algorithms: ASYMMETRIC_ALGORITHMS }];
    if (unnamed.length > 0) return unnamed;
  }
  throw new TetherError(ErrorCode.Unauthorized, `invalid token (no key of this server accepts alg '${alg}')`);
}

function refusal(err: unknown): TetherError {
  if (err instanceof joseErrors.JWTExpired)
    return new TetherError(ErrorCode.TokenExpired, 'token expired', { cause: err });
  const reason = err instanceof Error ? err.message : String(err);
  return new TetherError(ErrorCode.Unauthorized, `invalid token (${reason})`, { cause: err });
}
