/**
 * Public verification keys given in the options (`jwtPublicKeys`): PEM (SPKI) text or a public JWK.
 * Each key accepts only the algorithms of its own type, so that a token can never pick a weaker or
 * different scheme than the key was made for (and never `none` or HS*).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** A public key as given in `jwtPublicKeys`: PEM text (`-----BEGIN PUBLIC KEY-----`) or a JWK. */
export type JwtPublicKeyInput = string | JWK;

export interface PublicVerificationKey {
  key: KeyObject;
  /** The JWS algorithms this key may verify. */
  algorithms: readonly string[];
  /** The JWK's `kid`, when it has one: a token naming a `kid` is checked against that key first. */
  kid: string | undefined;
}

const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const RSA_PSS = ['PS256', 'PS384', 'PS512'] as const;
const EC_BY_CURVE: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const ED25519 = ['EdDSA', 'Ed25519'] as const;

/** Every algorithm a public key (or a JWKS) may ever verify. HS* and `none` are not among them. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [...RSA, ...Object.values(EC_BY_CURVE), ...ED25519];

/** Imports one key; throws a TypeError naming `label` (e.g. `jwtPublicKeys[0]`) when it is unusable. */
export function importPublicKey(input: unknown, label: string): PublicVerificationKey {
  let key: KeyObject;
  let kid: string | undefined;
  let jwkAlg: unknown;
  if (typeof input === 'string') {
    if (/PRIVATE KEY-----/.test(input))
      throw new TypeError(`${label} is a private key; give the public key (SPKI PEM)`);
    if (!input.includes('-----BEGIN PUBLIC KEY-----')) {
      throw new TypeError(`${label} must be an SPKI PEM ('-----BEGIN PUBLIC KEY-----') or a JWK`);
    }
    key = parse(() => createPublicKey({ key: input, format: 'pem' }), label);
  } else if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const jwk = input as Record<string, unknown>;
    if ('d' in jwk || 'priv' in jwk) throw new TypeError(`${label} is a private JWK; give the public key only`);
    if (jwk['kty'] === 'oct') throw new TypeError(`${label} is a secret (kty oct); use jwtSecret for HS256`);
    if (jwk['kid'] !== undefined && (typeof jwk['kid'] !== 'string' || jwk['kid'] === '')) {
      throw new TypeError(`${label}.kid must be a non-empty string`);
    }
    kid = jwk['kid'] as string | undefined;
    jwkAlg = jwk['alg'];
    key = parse(() => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), label);
  } else {
    throw new TypeError(`${label} must be an SPKI PEM string or a JWK object`);
  }
  let algorithms = algorithmsOf(key, label);
  if (jwkAlg !== undefined) {
    if (typeof jwkAlg !== 'string' || !algorithms.includes(jwkAlg)) {
      throw new TypeError(`${label}.alg '${String(jwkAlg)}' does not fit a ${key.asymmetricKeyType} key`);
    }
    algorithms = [jwkAlg];
  }
  return { key, algorithms, kid };
}

export function importPublicKeys(inputs: readonly unknown[]): PublicVerificationKey[] {
  return inputs.map((input, i) => importPublicKey(input, `jwtPublicKeys[${i}]`));
}

function parse(create: () => KeyObject, label: string): KeyObject {
  try {
    return create();
  } catch (err) {
    throw new TypeError(`${label} is not a readable public key: ${(err as Error).message}`, { cause: err });
  }
}

function algorithmsOf(key: KeyObject, label: string): readonly string[] {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      // jose refuses shorter RSA keys when verifying; say so at start, not at the first token.
      if ((details.modulusLength ?? 0) < 2048) throw new TypeError(`${label}: an RSA key must have at least 2048 bits`);
      return key.asymmetricKeyType === 'rsa' ? RSA : RSA_PSS;
    case 'ec': {
      const alg = EC_BY_CURVE[details.namedCurve ?? ''];
      if (!alg)
        throw new TypeError(`${label}: EC curve '${details.namedCurve}' is not supported (P-256, P-384, P-521)`);
      return [alg];
    }
    case 'ed25519':
      return ED25519;
    default:
      throw new TypeError(`${label}: key type '${key.asymmetricKeyType}' is not supported (RSA, EC, Ed25519)`);
  }
}
