/**
 * The one token verifier (handshake, refresh and HTTP bearer tokens all use it), with an injected
 * clock: keys by type and `kid`, the claim rules, and the refusals that must never pass.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { createTokenVerifier, type TokenVerifierConfig } from '../../src/auth/verify-token.js';
import { importPublicKey, importPublicKeys } from '../../src/auth/public-keys.js';
import { resolveOptions } from '../../src/resolve-options.js';
import { defaults, type TetherServerOptions } from '../../src/options.js';
import { keyPair, sign, unsignedToken, type TestKeyPair } from './keys.js';

const T0 = 1_900_000_000; // a fixed "now", seconds
const secret = new TextEncoder().encode('a-secret-of-thirty-two-bytes-0123');

let rsa: TestKeyPair;
let ec: TestKeyPair;
let ed: TestKeyPair;
let otherRsa: TestKeyPair;

beforeAll(async () => {
  [rsa, ec, ed, otherRsa] = await Promise.all([keyPair('RS256'), keyPair('ES256'), keyPair('EdDSA'), keyPair('RS256')]);
});

function verifier(config: Partial<TokenVerifierConfig> = {}, nowSec = T0) {
  return createTokenVerifier({
    publicKeys: importPublicKeys([rsa.pem, ec.jwk, ed.pem]),
    maxLifetimeSeconds: defaults.maxTokenLifetimeSeconds,
    clockSkewSeconds: defaults.clockSkewSeconds,
    now: () => nowSec * 1000,
    ...config,
  });
}

/** The code the verifier refuses `token` with, or 'accepted'. */
async function outcome(verify: (t: string) => Promise<unknown>, token: string): Promise<string> {
  try {
    await verify(token);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return (err as TetherError).code;
  }
}

describe('token verifier: keys', () => {
  it('accepts RS256, ES256 and EdDSA tokens from PEM and JWK keys, and reads the claims', async () => {
    const verify = verifier();
    for (const key of [rsa, ec, ed]) {
      const claims = await verify(await sign(key, { sub: 'ana', iat: T0, channels: ['room:*'], tenant: 't1' }));
      expect(claims).toEqual({ sub: 'ana', tenant: 't1', channels: ['room:*'], publish: [], exp: T0 + 600 });
    }
  });

  it('a token signed by a key the server does not know, or by the wrong type of key, is unauthorized', async () => {
    const verify = verifier({ publicKeys: importPublicKeys([rsa.pem]) });
    expect(await outcome(verify, await sign(otherRsa, { iat: T0 }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ec, { iat: T0 }))).toBe('unauthorized'); // no EC key configured
    expect(await outcome(verify, await sign(rsa, { iat: T0 }))).toBe('accepted');
  });

  it('alg none and HS256 signed with the public key as the secret are refused, with or without a secret', async () => {
    for (const withSecret of [false, true]) {
      const verify = verifier(withSecret ? { secret } : {});
      const confused = await sign(new TextEncoder().encode(rsa.pem), { iat: T0 });
      expect(await outcome(verify, confused)).toBe('unauthorized');
      expect(await outcome(verify, unsignedToken({ sub: 'u1', iat: T0, exp: T0 + 60 }))).toBe('unauthorized');
      expect(await outcome(verify, await sign(secret, { iat: T0 }))).toBe(withSecret ? 'accepted' : 'unauthorized');
    }
  });

  it('a key accepts the 384/512 variants of its type; a JWK `alg` pins one algorithm', async () => {
    const { SignJWT, exportJWK, exportSPKI, generateKeyPair } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('RS512', { extractable: true });
    const rs512 = await new SignJWT({})
      .setSubject('u1')
      .setIssuedAt(T0)
      .setExpirationTime(T0 + 60)
      .setProtectedHeader({ alg: 'RS512' })
      .sign(privateKey);
    const pem = await exportSPKI(publicKey);
    const pinned = { ...(await exportJWK(publicKey)), alg: 'RS256' };
    expect(await outcome(verifier({ publicKeys: importPublicKeys([pem]) }), rs512)).toBe('accepted');
    expect(await outcome(verifier({ publicKeys: importPublicKeys([pinned]) }), rs512)).toBe('unauthorized');
  });

  it('picks the key by `kid`; without a kid, every key of the type is tried (a rotation with PEM keys)', async () => {
    const second = await keyPair('RS256');
    const verify = verifier({ publicKeys: importPublicKeys([rsa.jwk, second.jwk]) });
    expect(await verify(await sign(second, { iat: T0, sub: 'by-kid' }))).toMatchObject({ sub: 'by-kid' });
    const byPem = verifier({ publicKeys: importPublicKeys([rsa.pem, second.pem]) });
    expect(await byPem(await sign(second, { iat: T0, kid: null, sub: 'tried' }))).toMatchObject({ sub: 'tried' });
    // A kid naming one key but signed by another: refused.
    expect(await outcome(verify, await sign(second, { iat: T0, kid: rsa.kid }))).toBe('unauthorized');
  });

  it('garbage and malformed tokens are unauthorized', async () => {
    const verify = verifier({ secret });
    for (const token of ['', 'garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9..', `${'x'.repeat(5000)}.y.z`]) {
      expect(await outcome(verify, token), token.slice(0, 30)).toBe('unauthorized');
    }
  });
});

describe('token verifier: claims', () => {
  it('`exp` is required', async () => {
    const verify = verifier({ secret });
    for (const key of [rsa, ec, ed, secret]) {
      expect(await outcome(verify, await sign(key, { iat: T0, exp: null }))).toBe('unauthorized');
    }
    await expect(verify(await sign(rsa, { iat: T0, exp: null }))).rejects.toThrow(/exp/);
  });

  it('expired → token_expired, except within the clock skew', async () => {
    const verify = verifier({ clockSkewSeconds: 30 });
    expect(await outcome(verify, await sign(ec, { iat: T0 - 100, exp: T0 - 31 }))).toBe('token_expired');
    expect(await outcome(verify, await sign(ec, { iat: T0 - 100, exp: T0 - 29 }))).toBe('accepted');
    expect(await outcome(verifier({ clockSkewSeconds: 0 }), await sign(ec, { iat: T0 - 100, exp: T0 }))).toBe(
      'token_expired',
    );
  });

  it('`iat` or `nbf` in the future beyond the clock skew is unauthorized', async () => {
    const verify = verifier({ clockSkewSeconds: 30 });
    expect(await outcome(verify, await sign(ed, { iat: T0 + 31, exp: T0 + 600 }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ed, { iat: T0 + 86_400 * 365, exp: T0 + 86_400 * 365 + 60 }))).toBe(
      'unauthorized',
    );
    expect(await outcome(verify, await sign(ed, { iat: T0 + 29, exp: T0 + 600 }))).toBe('accepted');
    expect(await outcome(verify, await sign(ed, { iat: T0, nbf: T0 + 31 }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ed, { iat: T0, nbf: T0 + 29 }))).toBe('accepted');
  });

  it('a lifetime over the maximum is unauthorized: exp - iat, or exp - now without iat', async () => {
    const verify = verifier({ maxLifetimeSeconds: 3600 });
    expect(await outcome(verify, await sign(rsa, { iat: T0, exp: T0 + 3600 }))).toBe('accepted');
    expect(await outcome(verify, await sign(rsa, { iat: T0, exp: T0 + 3601 }))).toBe('unauthorized');
    // Issued long ago, still valid: its lifetime counts, not what is left of it.
    expect(await outcome(verify, await sign(rsa, { iat: T0 - 7200, exp: T0 + 60 }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(rsa, { iat: null, exp: T0 + 3600 }))).toBe('accepted');
    expect(await outcome(verify, await sign(rsa, { iat: null, exp: T0 + 3601 }))).toBe('unauthorized');
    // The default: a day.
    expect(await outcome(verifier(), await sign(rsa, { iat: T0, exp: T0 + 86_401 }))).toBe('unauthorized');
    expect(await outcome(verifier(), await sign(rsa, { iat: T0, exp: T0 + 86_400 }))).toBe('accepted');
  });

  it('an empty or unusable `sub` is unauthorized', async () => {
    const verify = verifier();
    for (const sub of ['', 'a/b', ' ', 'x'.repeat(300)]) {
      expect(await outcome(verify, await sign(rsa, { iat: T0, sub })), JSON.stringify(sub)).toBe('unauthorized');
    }
  });

  it('`iss` and `aud` are checked when configured (one value or a list), ignored otherwise', async () => {
    const verify = verifier({ issuer: 'https://auth.example', audience: ['tether', 'tether-eu'] });
    const good = { iat: T0, iss: 'https://auth.example', aud: 'tether-eu' };
    expect(await outcome(verify, await sign(ec, good))).toBe('accepted');
    expect(await outcome(verify, await sign(ec, { ...good, iss: 'https://evil.example' }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ec, { ...good, iss: undefined }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ec, { ...good, aud: 'other' }))).toBe('unauthorized');
    expect(await outcome(verify, await sign(ec, { ...good, aud: undefined }))).toBe('unauthorized');
    expect(await outcome(verifier(), await sign(ec, { ...good, aud: 'other', iss: 'any' }))).toBe('accepted');
  });
});

describe('auth options', () => {
  const base: TetherServerOptions = {};
  const refusal = (options: TetherServerOptions): string => {
    try {
      resolveOptions(options);
      return 'accepted';
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      return (err as Error).message;
    }
  };

  it('jwtSecret is optional when a public key or JWKS URL is given; one of them is required', () => {
    expect(refusal(base)).toMatch(/jwtSecret, jwtPublicKeys or jwksUrl/);
    expect(refusal({ jwtPublicKeys: [] })).toMatch(/jwtSecret, jwtPublicKeys or jwksUrl/);
    expect(refusal({ jwtPublicKeys: [rsa.pem] })).toBe('accepted');
    expect(refusal({ jwksUrl: 'https://auth.example/.well-known/jwks.json' })).toBe('accepted');
    expect(refusal({ jwtSecret: 'short' })).toMatch(/jwtSecret/);
    expect(resolveOptions({ jwtPublicKeys: [ed.pem] })).toMatchObject({
      maxTokenLifetimeSeconds: 86_400,
      clockSkewSeconds: 30,
      jwksCooldownMs: 30_000,
    });
  });

  it('unusable or incomplete auth options throw a TypeError naming the option', () => {
    const { privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { publicKey: weak } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pemOf = (k: { export(o: object): string | Buffer }, type: string) =>
      String(k.export({ type, format: 'pem' }));
    const cases: [TetherServerOptions, RegExp][] = [
      [{ jwtPublicKeys: [rsa.pem, 'not a key'] }, /jwtPublicKeys\[1\]/],
      [{ jwtPublicKeys: [pemOf(rsaPrivate, 'pkcs8')] }, /jwtPublicKeys\[0\] is a private key/],
      [{ jwtPublicKeys: [pemOf(weak, 'spki')] }, /jwtPublicKeys\[0\].*2048/],
      [{ jwtPublicKeys: [{ ...ec.jwk, d: 'x' }] }, /jwtPublicKeys\[0\] is a private JWK/],
      [{ jwtPublicKeys: [{ kty: 'oct', k: 'abc' }] }, /jwtPublicKeys\[0\].*jwtSecret/],
      [{ jwtPublicKeys: [{ ...ec.jwk, alg: 'RS256' }] }, /jwtPublicKeys\[0\]\.alg/],
      [{ jwtPublicKeys: [{ ...ec.jwk, alg: 'HS256' }] }, /jwtPublicKeys\[0\]\.alg/],
      [{ jwtPublicKeys: [rsa.jwk, { ...otherRsa.jwk, kid: rsa.kid }] }, /jwtPublicKeys: two keys have the kid/],
      [{ jwksUrl: 'ftp://auth.example/jwks' }, /jwksUrl/],
      [{ jwksUrl: 'not a url' }, /jwksUrl/],
      [{ jwtSecret: 'a-long-enough-secret-0123', jwksCooldownMs: 10 }, /jwksCooldownMs is given without jwksUrl/],
      [{ jwtSecret: 'a-long-enough-secret-0123', jwksTimeoutMs: 10 }, /jwksTimeoutMs is given without jwksUrl/],
      [{ jwksUrl: 'https://a.example/j', jwksCooldownMs: -1 }, /jwksCooldownMs/],
      [{ jwtSecret: 'a-long-enough-secret-0123', jwtIssuer: '' }, /jwtIssuer/],
      [{ jwtSecret: 'a-long-enough-secret-0123', jwtAudience: [] }, /jwtAudience/],
      [{ jwtSecret: 'a-long-enough-secret-0123', maxTokenLifetimeSeconds: 0 }, /maxTokenLifetimeSeconds/],
      [{ jwtSecret: 'a-long-enough-secret-0123', clockSkewSeconds: -1 }, /clockSkewSeconds/],
    ];
    for (const [options, message] of cases)
      expect(refusal(options), JSON.stringify(options).slice(0, 80)).toMatch(message);
  });

  it('a key accepts only the algorithms of its type', () => {
    expect(importPublicKey(rsa.pem, 'k').algorithms).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
    expect(importPublicKey(ec.pem, 'k').algorithms).toEqual(['ES256']);
    expect(importPublicKey(ed.jwk, 'k')).toMatchObject({ algorithms: ['EdDSA'], kid: ed.kid });
    expect(importPublicKey(ed.pem, 'k').algorithms).toEqual(['EdDSA', 'Ed25519']);
  });
});
