/**
 * Validation of the auth options (called by `resolveOptions`): at least one key source, each one
 * usable, no JWKS tuning without a JWKS URL. Fails with a TypeError naming the option.
 */
import type { TetherServerOptions } from '../options.js';
import { importPublicKeys } from './public-keys.js';

const JWKS_TUNING = ['jwksCooldownMs', 'jwksCacheMaxAgeMs', 'jwksTimeoutMs'] as const;

export function checkAuthOptions(options: TetherServerOptions): void {
  const { jwtSecret, jwtPublicKeys, jwksUrl } = options;
  if (jwtSecret !== undefined) checkSecret(jwtSecret);
  if (jwtPublicKeys !== undefined) {
    if (!Array.isArray(jwtPublicKeys)) throw new TypeError('jwtPublicKeys must be a list of PEM strings or JWKs');
    const kids = importPublicKeys(jwtPublicKeys).flatMap((k) => (k.kid === undefined ? [] : [k.kid]));
    const twice = kids.find((kid, i) => kids.indexOf(kid) !== i);
    if (twice !== undefined) throw new TypeError(`jwtPublicKeys: two keys have the kid '${twice}'`);
  }
  if (jwksUrl !== undefined) jwksUrlOf(jwksUrl);
  if (jwtSecret === undefined && (jwtPublicKeys ?? []).length === 0 && jwksUrl === undefined) {
    throw new TypeError('one of jwtSecret, jwtPublicKeys or jwksUrl is required to verify user tokens');
  }
  for (const name of JWKS_TUNING) {
    const value = options[name];
    if (value === undefined) continue;
    if (jwksUrl === undefined) throw new TypeError(`${name} is given without jwksUrl`);
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number ≥ 0, got ${value}`);
  }
  checkClaimValues('jwtIssuer', options.jwtIssuer);
  checkClaimValues('jwtAudience', options.jwtAudience);
  const { maxTokenLifetimeSeconds: lifetime, clockSkewSeconds: skew } = options;
  if (lifetime !== undefined && !(Number.isFinite(lifetime) && lifetime > 0)) {
    throw new TypeError(`maxTokenLifetimeSeconds must be a positive number, got ${lifetime}`);
  }
  if (skew !== undefined && !(Number.isFinite(skew) && skew >= 0)) {
    throw new TypeError(`clockSkewSeconds must be a number ≥ 0, got ${skew}`);
  }
}

function checkSecret(secret: unknown): void {
  if (!(typeof secret === 'string' && secret.length > 0) && !(secret instanceof Uint8Array && secret.length > 0)) {
    throw new TypeError('jwtSecret must be a non-empty string or Uint8Array');
  }
  if (typeof secret === 'string' && secret.length < 16) {
    throw new TypeError('jwtSecret must be at least 16 characters for HS256');
  }
}

/** The JWKS URL as a URL; http or https only. */
export function jwksUrlOf(value: unknown): URL {
  let url: URL | undefined;
  try {
    url = value instanceof URL ? value : typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError(`jwksUrl must be an http(s) URL, got '${String(value)}'`);
  }
  return url;
}

function checkClaimValues(name: string, value: unknown): void {
  if (value === undefined) return;
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new TypeError(`${name} must be a non-empty string or a non-empty list of them`);
  }
}
