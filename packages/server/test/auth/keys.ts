/** Test keys and tokens for the auth tests: real jose key pairs, tokens signed with them. */
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export type Alg = 'RS256' | 'ES256' | 'EdDSA';

export interface TestKeyPair {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  /** The public key as SPKI PEM. */
  pem: string;
  /** The public key as a JWK with `kid` and `alg`. */
  jwk: JWK;
}

let counter = 0;

export async function keyPair(alg: Alg, kid = `${alg.toLowerCase()}-${++counter}`): Promise<TestKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, pem: await exportSPKI(publicKey), jwk };
}

export interface TokenSpec {
  sub?: string;
  channels?: string[];
  publish?: string[];
  tenant?: string;
  /** Seconds since the epoch; `null` leaves the claim out. Default now. */
  iat?: number | null;
  /** Seconds since the epoch; `null` leaves the claim out. Default iat + 600. */
  exp?: number | null;
  nbf?: number;
  iss?: string;
  aud?: string;
  /** `null` leaves the header's kid out. Default the key's. */
  kid?: string | null;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Signs `spec` with `key` (a key pair, or HS256 bytes). */
export function sign(key: TestKeyPair | Uint8Array, spec: TokenSpec = {}): Promise<string> {
  const { sub = 'u1', iat = nowSeconds(), kid, iss, aud, nbf, ...claims } = spec;
  const exp = spec.exp === undefined ? (iat ?? nowSeconds()) + 600 : spec.exp;
  const body: Record<string, unknown> = {};
  if (claims.channels) body['channels'] = claims.channels;
  if (claims.publish) body['publish'] = claims.publish;
  if (claims.tenant) body['tenant'] = claims.tenant;
  const jwt = new SignJWT(body).setSubject(sub);
  if (iat !== null) jwt.setIssuedAt(iat);
  if (exp !== null) jwt.setExpirationTime(exp);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  if (iss !== undefined) jwt.setIssuer(iss);
  if (aud !== undefined) jwt.setAudience(aud);
  if (key instanceof Uint8Array) return jwt.setProtectedHeader({ alg: 'HS256' }).sign(key);
  const headerKid = kid === undefined ? key.kid : kid;
  return jwt
    .setProtectedHeader({ alg: key.alg, ...(headerKid === null ? {} : { kid: headerKid }) })
    .sign(key.privateKey);
}

/** A token with `alg: none` and no signature (what an attacker sends). */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
