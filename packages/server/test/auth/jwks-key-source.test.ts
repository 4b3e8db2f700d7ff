/**
 * Keys from a JWKS URL against a local JWKS server, with an injected clock for the cooldown and
 * the cache age: an unknown `kid` refetches, a storm of them is rate-limited, and a failing or
 * hanging JWKS server leaves verification working with the last good set.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { JwksKeySource } from '../../src/auth/jwks-key-source.js';
import { createTokenVerifier } from '../../src/auth/verify-token.js';
import { startJwksServer, type JwksServer } from './jwks-server.js';
import { keyPair, sign, type TestKeyPair } from './keys.js';

let a: TestKeyPair;
let b: TestKeyPair;
let c: TestKeyPair;
const servers: JwksServer[] = [];

beforeAll(async () => {
  [a, b, c] = await Promise.all([keyPair('RS256', 'key-a'), keyPair('ES256', 'key-b'), keyPair('EdDSA', 'key-c')]);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A verifier over a JWKS source whose clock the test moves. */
async function setup(options: { cooldownMs?: number; cacheMaxAgeMs?: number; timeoutMs?: number } = {}) {
  const jwks = await startJwksServer([a.jwk]);
  servers.push(jwks);
  const clock = { ms: 1_000_000 };
  const fetchErrors: unknown[] = [];
  const source = new JwksKeySource({
    url: new URL(jwks.url),
    cooldownMs: options.cooldownMs ?? 30_000,
    cacheMaxAgeMs: options.cacheMaxAgeMs ?? 600_000,
    timeoutMs: options.timeoutMs ?? 2000,
    onFetchError: (err) => fetchErrors.push(err),
    now: () => clock.ms,
  });
  const verify = createTokenVerifier({
    publicKeys: [],
    jwks: source,
    maxLifetimeSeconds: 86_400,
    clockSkewSeconds: 30,
  });
  const outcome = async (token: string): Promise<string> => {
    try {
      await verify(token);
      return 'accepted';
    } catch (err) {
      expect(err).toBeInstanceOf(TetherError);
      return (err as TetherError).code;
    }
  };
  return { jwks, clock, outcome, fetchErrors };
}

describe('JWKS key source', () => {
  it('fetches once, then refetches on an unknown kid (a key the issuer just added)', async () => {
    const { jwks, outcome } = await setup({ cooldownMs: 0 });
    expect(await outcome(await sign(a))).toBe('accepted');
    expect(await outcome(await sign(a))).toBe('accepted');
    expect(jwks.requests).toBe(1);
    jwks.keys = [a.jwk, b.jwk];
    expect(await outcome(await sign(b))).toBe('accepted');
    expect(jwks.requests).toBe(2);
    // A key removed from the set: refused once the set has been refetched.
    jwks.keys = [b.jwk];
    expect(await outcome(await sign(c))).toBe('unauthorized'); // unknown kid → refetch, still unknown
    expect(jwks.requests).toBe(3);
    expect(await outcome(await sign(a))).toBe('unauthorized');
  });

  it('a storm of unknown kids is rate-limited: one fetch per cooldown', async () => {
    const { jwks, clock, outcome } = await setup({ cooldownMs: 30_000 });
    expect(await outcome(await sign(a))).toBe('accepted');
    clock.ms += 30_000;
    const strangers = await Promise.all(Array.from({ length: 50 }, (_, i) => sign(c, { kid: `unknown-${i}` })));
    expect(await Promise.all(strangers.map(outcome))).toEqual(strangers.map(() => 'unauthorized'));
    expect(jwks.requests).toBe(2); // the first fetch and one refetch for the whole storm
    for (const token of strangers.slice(0, 20)) expect(await outcome(token)).toBe('unauthorized');
    expect(jwks.requests).toBe(2);
    // Known keys keep working meanwhile, without a fetch.
    expect(await outcome(await sign(a))).toBe('accepted');
    // After the cooldown, an unknown kid may fetch again: the key added meanwhile is found.
    jwks.keys = [a.jwk, c.jwk];
    expect(await outcome(await sign(c))).toBe('unauthorized'); // still cooling down
    clock.ms += 30_000;
    expect(await outcome(await sign(c))).toBe('accepted');
    expect(jwks.requests).toBe(3);
  });

  it('a JWKS server failing after the first fetch leaves verification working with the last good set', async () => {
    const { jwks, clock, outcome, fetchErrors } = await setup({ cooldownMs: 1000, cacheMaxAgeMs: 60_000 });
    expect(await outcome(await sign(a))).toBe('accepted');
    jwks.mode = 'fail';
    // The set is old: a background refresh fails; the old set keeps answering.
    clock.ms += 120_000;
    expect(await outcome(await sign(a))).toBe('accepted');
    await expect.poll(() => fetchErrors.length).toBe(1);
    // An unknown kid tries once (and fails); the failure starts the cooldown too.
    clock.ms += 1000;
    const stranger = await sign(b);
    expect(await outcome(stranger)).toBe('unauthorized');
    for (let i = 0; i < 10; i++) expect(await outcome(stranger)).toBe('unauthorized');
    expect(jwks.requests).toBe(3);
    expect(await outcome(await sign(a))).toBe('accepted');
    // Back up: the next fetch after the cooldown replaces the set.
    jwks.mode = 'ok';
    jwks.keys = [a.jwk, b.jwk];
    clock.ms += 1000;
    expect(await outcome(stranger)).toBe('accepted');
    expect(jwks.requests).toBe(4);
  });

  it('a hanging JWKS server times out and the last good set stays', async () => {
    const { jwks, clock, outcome, fetchErrors } = await setup({ cooldownMs: 0, timeoutMs: 200 });
    expect(await outcome(await sign(a))).toBe('accepted');
    jwks.mode = 'hang';
    const started = Date.now();
    expect(await outcome(await sign(b))).toBe('unauthorized'); // unknown kid: the refetch hangs, times out
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fetchErrors).toHaveLength(1);
    clock.ms += 1;
    expect(await outcome(await sign(a))).toBe('accepted');
  });

  it('with no set fetched yet, a failing JWKS server refuses tokens (unauthorized) until it answers', async () => {
    const { jwks, clock, outcome } = await setup({ cooldownMs: 5000 });
    jwks.mode = 'fail';
    expect(await outcome(await sign(a))).toBe('unauthorized');
    expect(await outcome(await sign(a))).toBe('unauthorized');
    expect(jwks.requests).toBe(1); // the retry waits for the cooldown
    jwks.mode = 'ok';
    clock.ms += 5000;
    expect(await outcome(await sign(a))).toBe('accepted');
    expect(jwks.requests).toBe(2);
  });

  it('never accepts HS256 from a JWKS, nor a set member whose kty does not fit the alg', async () => {
    const { jwks, outcome } = await setup({ cooldownMs: 0 });
    jwks.keys = [
      a.jwk,
      { kty: 'oct', k: Buffer.from('secret-bytes-0123456789abcdef').toString('base64url'), kid: 'hs' },
    ];
    expect(await outcome(await sign(new TextEncoder().encode('secret-bytes-0123456789abcdef')))).toBe('unauthorized');
    // An ES256 header naming the RSA key's kid.
    expect(await outcome(await sign(b, { kid: a.kid }))).toBe('unauthorized');
  });
});
