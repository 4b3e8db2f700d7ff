/**
 * HS256 verification without webcrypto: jose checks an HMAC through `crypto.subtle` (a promise and
 * a thread-pool hop per token, 0.1–0.7 ms), node:crypto's `createHmac` does the same work in a few
 * µs on the calling thread. This matters once per client after a restart, when the token cache is
 * empty and every client of the node handshakes at once.
 *
 * The claim checks below are jose's `jwtVerify` ones as the verifier calls it (`requiredClaims:
 * ['exp']`, issuer, audience, clock tolerance, current date), in jose's order, so that a token gets
 * the same answer and the same error code either way (a property test holds the two together).
 * Stricter than jose on purpose: a `crit` header is refused. `parseCompact`, which every token
 * goes through first whatever its algorithm, also wants unpadded, canonical base64url in every
 * segment (RFC 7515; jose lets padding, whitespace and stray bits through) and ≤ 8192 characters.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, MAX_TOKEN_LENGTH, TetherError } from '@tether/protocol';
import type { JWTPayload } from 'jose';

export interface Hs256Rules {
  secret: Uint8Array;
  issuer?: string | string[] | undefined;
  audience?: string | string[] | undefined;
  /** jose's `clockTolerance`, seconds. */
  clockSkewSeconds: number;
}

/** The header of a compact JWS. */
export type ParsedHeader = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Header members the fast path understands; any other sends the token to jose, unchanged. */
const PLAIN_HEADER_MEMBERS = new Set(['alg', 'typ', 'kid']);

function refuse(reason: string, cause?: unknown): never {
  throw new TetherError(ErrorCode.Unauthorized, `invalid token (${reason})`, cause ? { cause } : undefined);
}

/** Decodes one segment, refusing anything but canonical unpadded base64url. */
export function decodeSegment(segment: string, label: string): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  // Node's decoder skips characters outside the alphabet and ignores padding and stray bits; the
  // round trip is what makes it strict.
  if (bytes.toString('base64url') !== segment) refuse(`the ${label} is not canonical base64url`);
  return bytes;
}

/** Parses decoded bytes as a JSON object the way jose does (strict UTF-8, a plain object). */
function jsonObject(bytes: Uint8Array, label: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    refuse(`the ${label} is not a JSON object`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    refuse(`the ${label} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** A compact JWS taken apart: its three segments as text, its header read, payload and signature decoded. */
export interface CompactJws {
  segments: readonly [string, string, string];
  header: ParsedHeader;
  payload: Buffer;
  signature: Buffer;
}

/** Splits a compact JWS, checks every segment is canonical base64url, and parses its header. */
export function parseCompact(token: string): CompactJws {
  if (token.length > MAX_TOKEN_LENGTH) refuse(`longer than ${MAX_TOKEN_LENGTH} characters`);
  const segments = token.split('.');
  if (segments.length !== 3) refuse('not a compact JWS');
  const [header, payload, signature] = segments as [string, string, string];
  return {
    segments: [header, payload, signature],
    header: jsonObject(decodeSegment(header, 'header'), 'header'),
    payload: decodeSegment(payload, 'payload'),
    signature: decodeSegment(signature, 'signature'),
  };
}

/** True when this header is one the fast path decides alone: HS256, `typ` JWT or none, any `kid`. */
export function isPlainHs256(header: ParsedHeader): boolean {
  if (header['alg'] !== 'HS256') return false;
  if (Object.hasOwn(header, 'crit')) refuse('`crit` header is not supported');
  const { typ } = header;
  if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) return false;
  return Object.keys(header).every((member) => PLAIN_HEADER_MEMBERS.has(member));
}

/**
 * Verifies a token whose header `isPlainHs256` accepted: signature, then jose's claim checks.
 * Returns the claims; throws `unauthorized`, or `token_expired` for an `exp` in the past.
 */
export function verifyHs256(jws: CompactJws, rules: Hs256Rules, nowMs: number): JWTPayload {
  const [header, payload] = jws.segments;
  // Canonical base64url is ASCII, so latin1 gives jose's signing input byte for byte.
  const expected = createHmac('sha256', rules.secret).update(`${header}.${payload}`, 'latin1').digest();
  const given = jws.signature;
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) refuse('signature verification failed');
  const claims = jsonObject(jws.payload, 'payload');
  checkRegisteredClaims(claims, rules, Math.floor(nowMs / 1000));
  return claims as JWTPayload;
}

/** jose's `validateClaimsSet` for the options the verifier passes, in its order. */
function checkRegisteredClaims(claims: Record<string, unknown>, rules: Hs256Rules, now: number): void {
  const required = ['exp'];
  if (rules.audience !== undefined) required.push('aud');
  if (rules.issuer !== undefined) required.push('iss');
  for (const claim of required.reverse()) {
    if (!Object.hasOwn(claims, claim)) refuse(`missing required "${claim}" claim`);
  }
  if (rules.issuer !== undefined && !([] as unknown[]).concat(rules.issuer).includes(claims['iss'])) {
    refuse('unexpected "iss" claim value');
  }
  if (rules.audience !== undefined && !audienceMatches(claims['aud'], ([] as string[]).concat(rules.audience))) {
    refuse('unexpected "aud" claim value');
  }
  const tolerance = rules.clockSkewSeconds;
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance) refuse('"nbf" claim timestamp check failed');
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - tolerance) {
    throw new TetherError(ErrorCode.TokenExpired, 'token expired');
  }
}

function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') refuse(`"${claim}" claim must be a number`);
  return value;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  if (Array.isArray(aud)) return accepted.some((a) => aud.includes(a));
  return false;
}
