/**
 * The synchronous HS256 check (auth/hs256.ts) against jose: for generated headers, claims, secrets,
 * verifier settings and tamperings, both give the same answer (the same claims, or the same error
 * code). The one documented difference: the fast path refuses any `crit` header. Non-canonical
 * base64url is refused on both paths (the verifier reads every token strictly before either).
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { createTokenVerifier, type TokenVerifierConfig } from '../../src/auth/verify-token.js';
import { importPublicKeys } from '../../src/auth/public-keys.js';

const T0 = 1_900_000_000;
const SERVER_SECRET = new TextEncoder().encode('a-secret-of-thirty-two-bytes-0123');
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

type SignWith = 'server' | 'other' | 'server-sha512' | 'public-pem' | 'none';

/** A compact token from raw parts, signed however the case says (including wrongly). */
function forge(header: unknown, payload: Uint8Array | string, signWith: SignWith, secret: Uint8Array): string {
  const input = `${b64(typeof header === 'string' ? header : JSON.stringify(header))}.${b64(payload)}`;
  const mac = (key: Uint8Array | string, hash = 'sha256'): string => b64(createHmac(hash, key).update(input).digest());
  switch (signWith) {
    case 'server':
      return `${input}.${mac(secret)}`;
    case 'other':
      return `${input}.${mac(new TextEncoder().encode('another-secret-of-32-bytes-00000'))}`;
    case 'server-sha512':
      return `${input}.${mac(secret, 'sha512')}`;
    case 'public-pem':
      return `${input}.${mac(rsaPem)}`;
    case 'none':
      return `${input}.`;
  }
}

type Tamper = 'none' | 'payload' | 'signature' | 'header' | 'pad' | 'extra-dot' | 'space' | 'stray-bits' | 'plus';

function tamper(token: string, how: Tamper, flip: number): string {
  const [h = '', p = '', s = ''] = token.split('.');
  const flipAt = (seg: string): string => {
    if (seg.length === 0) return 'A';
    const i = flip % seg.length;
    const c = seg[i] === 'A' ? 'B' : 'A';
    return seg.slice(0, i) + c + seg.slice(i + 1);
  };
  switch (how) {
    case 'none':
      return token;
    case 'payload':
      return `${h}.${flipAt(p)}.${s}`;
    case 'signature':
      return `${h}.${p}.${flipAt(s)}`;
    case 'header':
      return `${flipAt(h)}.${p}.${s}`;
    case 'pad':
      return `${h}.${p}.${s}=`;
    case 'extra-dot':
      return `${token}.`;
    case 'space':
      return `${h}.${p} .${s}`;
    case 'stray-bits': {
      // 32 bytes give 43 characters whose last carries 2 unused bits: set them.
      const last = s.at(-1) ?? 'A';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return `${h}.${p}.${s.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
    }
    case 'plus':
      return `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`;
  }
}

/** What a verifier says: the claims it accepted, or its error code. */
async function outcome(verify: (t: string) => Promise<unknown>, token: string): Promise<string> {
  try {
    return `accepted ${JSON.stringify(await verify(token))}`;
  } catch (err) {
    if (!(err instanceof TetherError)) throw err;
    return err.code;
  }
}

function canonical(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => b64(Buffer.from(part, 'base64url')) === part);
}

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
/** A field that is usually fine and sometimes not, so that accepted tokens come up often enough. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: bad });
const junkTime = fc.constantFrom<unknown>(null, String(T0 + 60), true, [T0], T0 + 0.5);
const nearNow = (spread: number): fc.Arbitrary<number> => fc.integer({ min: -spread, max: spread }).map((d) => T0 + d);
const absent = fc.constant(undefined);
/** Times on the edges of the checks for a clock skew of 0 or 30 s. */
const edge = fc.constantFrom(-31, -30, -29, -1, 0, 1, 29, 30, 31).map((d) => T0 + d);

const claimsArb = fc.record({
  sub: mostly(fc.constantFrom('u1', 'ana'), fc.constantFrom('', 'a/b', 7, undefined)),
  exp: mostly(
    fc.oneof(
      nearNow(120),
      fc.integer({ min: 0, max: 90_000 }).map((d) => T0 + d),
    ),
    fc.oneof(absent, junkTime),
  ),
  nbf: mostly(fc.oneof(absent, edge, nearNow(120)), junkTime),
  iat: mostly(fc.oneof(absent, edge, nearNow(120)), fc.oneof(junkTime, nearNow(90_000))),
  iss: mostly(fc.constantFrom(undefined, 'issuer-a'), fc.constantFrom('issuer-b', 3)),
  aud: mostly(fc.constantFrom(undefined, 'aud-a', ['aud-x', 'aud-b']), fc.constantFrom('aud-x', ['aud-x'], 5)),
  tenant: mostly(fc.constantFrom(undefined, 't1'), fc.constantFrom('bad tenant!', 4)),
  channels: mostly(fc.constantFrom(undefined, ['room:*']), fc.constantFrom('room:*', [1])),
  extra: maybe(fc.jsonValue({ maxDepth: 1 })),
});

const rawPayloadArb = fc.constantFrom<Uint8Array | string>(
  '[]',
  '"x"',
  'null',
  `{"exp":${T0 + 60}`,
  new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  `{"__proto__":{"x":1},"sub":"u1","exp":${T0 + 60}}`,
  `{"sub":"u1","exp":${T0 + 60},"sub":"u2"}`,
);

const headerArb = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      alg: mostly(fc.constant('HS256'), fc.constantFrom('HS512', 'RS256', 'none', 'hs256', undefined)),
      typ: mostly(fc.constantFrom(undefined, 'JWT', 'jwt'), fc.constantFrom('at+jwt', 1)),
      kid: fc.constantFrom(undefined, 'k1', 2),
      jku: mostly(absent, fc.constant('https://attacker.example/jwks')),
      b64: mostly(absent, fc.boolean()),
      crit: mostly(absent, fc.constantFrom<unknown>(['b64'], ['exp'], [])),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>('[]', '"HS256"', 'null', '{"alg":"HS256"', '{"alg":"HS256","alg":"RS256"}'),
  },
);

const configArb = fc.record({
  issuer: fc.constantFrom<string | string[] | undefined>(undefined, undefined, 'issuer-a', ['issuer-a', 'issuer-b']),
  audience: fc.constantFrom<string | string[] | undefined>(undefined, undefined, 'aud-a', ['aud-b', 'aud-c']),
  clockSkewSeconds: fc.oneof(fc.constantFrom(0, 30), fc.integer({ min: 0, max: 60 })),
  maxLifetimeSeconds: fc.constantFrom(600, 86_400),
  nowMs: fc.integer({ min: 0, max: 999 }).map((ms) => T0 * 1000 + ms),
  secret: fc.oneof(fc.constant(SERVER_SECRET), fc.uint8Array({ minLength: 16, maxLength: 48 })),
});

function pair(config: Omit<TokenVerifierConfig, 'publicKeys'> & { nowMs: number }) {
  const base = { ...config, publicKeys: importPublicKeys([rsaPem]), now: () => config.nowMs };
  return {
    fast: createTokenVerifier(base),
    jose: createTokenVerifier({ ...base, hs256With: 'jose' }),
  };
}

describe('HS256 fast path and jose agree', () => {
  it('for generated headers, claims, secrets, settings and tamperings (stricter only where documented)', async () => {
    const seen = { accepted: 0, expired: 0, refused: 0, nonCanonical: 0 };
    await fc.assert(
      fc.asyncProperty(
        configArb,
        headerArb,
        fc.oneof({ weight: 8, arbitrary: claimsArb }, { weight: 1, arbitrary: rawPayloadArb }),
        mostly(
          fc.constant<SignWith>('server'),
          fc.constantFrom<SignWith>('other', 'server-sha512', 'public-pem', 'none'),
        ),
        mostly(
          fc.constant<Tamper>('none'),
          fc.constantFrom<Tamper>('payload', 'signature', 'header', 'pad', 'extra-dot', 'space', 'stray-bits', 'plus'),
        ),
        fc.nat(),
        async (config, header, claims, signWith, how, flip) => {
          const payload = typeof claims === 'string' || claims instanceof Uint8Array ? claims : JSON.stringify(claims);
          const token = tamper(forge(header, payload, signWith, config.secret), how, flip);
          const { fast, jose } = pair(config);
          const [byNode, byJose] = await Promise.all([outcome(fast, token), outcome(jose, token)]);
          const hasCrit =
            typeof header === 'object' && header !== null && (header as { crit?: unknown }).crit !== undefined;
          if (hasCrit) {
            // jose accepts `crit: ["b64"]` with `b64: true`; the fast path refuses any `crit`.
            expect(byNode).toBe('unauthorized');
          } else {
            expect(byNode).toBe(byJose);
          }
          if (!canonical(token)) {
            // Both, since every token is read by parseCompact first (jose alone accepts padding etc.).
            expect(byNode).toBe('unauthorized');
            seen.nonCanonical++;
          }
          if (byNode.startsWith('accepted')) seen.accepted++;
          else if (byNode === 'token_expired') seen.expired++;
          else seen.refused++;
        },
      ),
      { numRuns: 1500 },
    );
    // The property means something only if every kind of answer came up.
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.expired).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.nonCanonical).toBeGreaterThan(50);
  });

  it('for valid tokens: both accept with the same claims', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.integer({ min: -300, max: 0 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.constantFrom(undefined, 'JWT', 'jwt'),
        fc.constantFrom(undefined, 'k1'),
        fc.array(fc.constantFrom('room:*', 'chat:1', 'user:*'), { maxLength: 3 }),
        async (secret, issuedAgo, lifetime, typ, kid, channels) => {
          const iat = T0 + issuedAgo;
          const claims = { sub: 'u1', iat, exp: iat + lifetime + 300, channels, iss: 'issuer-a', aud: ['aud-b'] };
          const token = forge({ alg: 'HS256', typ, kid }, JSON.stringify(claims), 'server', secret);
          const config = {
            secret,
            issuer: 'issuer-a',
            audience: 'aud-b',
            clockSkewSeconds: 0,
            maxLifetimeSeconds: 86_400,
          };
          const { fast, jose } = pair({ ...config, nowMs: T0 * 1000 });
          const byNode = await outcome(fast, token);
          expect(byNode).toMatch(/^accepted/);
          expect(byNode).toBe(await outcome(jose, token));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('HS256 fast path: refusals', () => {
  const config = { secret: SERVER_SECRET, clockSkewSeconds: 30, maxLifetimeSeconds: 86_400, nowMs: T0 * 1000 };
  const { fast } = pair(config);
  const claims = JSON.stringify({ sub: 'u1', iat: T0, exp: T0 + 600 });
  const good = forge({ alg: 'HS256', typ: 'JWT' }, claims, 'server', SERVER_SECRET);

  it('a good token is accepted, and settles before the next macrotask (no thread-pool hop); jose does not', async () => {
    const first = async (verify: (t: string) => Promise<unknown>): Promise<string> =>
      Promise.race([verify(good).then(() => 'verified'), nextMacrotask().then(() => 'macrotask')]);
    expect(await first(fast)).toBe('verified');
    expect(await first(pair({ ...config, hs256With: 'jose' }).jose)).toBe('macrotask');
  });

  it.each<[string, string, string]>([
    ['wrong secret', forge({ alg: 'HS256' }, claims, 'other', SERVER_SECRET), 'unauthorized'],
    ['tampered payload', tamper(good, 'payload', 40), 'unauthorized'],
    ['tampered signature', tamper(good, 'signature', 3), 'unauthorized'],
    ['alg none, no signature', forge({ alg: 'none', typ: 'JWT' }, claims, 'none', SERVER_SECRET), 'unauthorized'],
    ['alg none, signed', forge({ alg: 'none' }, claims, 'server', SERVER_SECRET), 'unauthorized'],
    [
      'alg HS512 signed with the secret',
      forge({ alg: 'HS512' }, claims, 'server-sha512', SERVER_SECRET),
      'unauthorized',
    ],
    ['alg HS512 header, HS256 signature', forge({ alg: 'HS512' }, claims, 'server', SERVER_SECRET), 'unauthorized'],
    [
      'RS256 header, HMAC with the secret (alg confusion)',
      forge({ alg: 'RS256' }, claims, 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'RS256 header, HMAC with the public key',
      forge({ alg: 'RS256' }, claims, 'public-pem', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'expired beyond the skew',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', iat: T0 - 900, exp: T0 - 31 }), 'server', SERVER_SECRET),
      'token_expired',
    ],
    [
      'not yet valid beyond the skew',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', nbf: T0 + 31, exp: T0 + 600 }), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'no exp',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', iat: T0 }), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'exp not a number',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', exp: String(T0 + 60) }), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'lifetime over the maximum',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', iat: T0, exp: T0 + 86_401 }), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      'empty sub',
      forge({ alg: 'HS256' }, JSON.stringify({ sub: '', exp: T0 + 60 }), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    [
      '`crit` header',
      forge({ alg: 'HS256', crit: ['b64'], b64: true }, claims, 'server', SERVER_SECRET),
      'unauthorized',
    ],
    ['padded signature', tamper(good, 'pad', 0), 'unauthorized'],
    ['signature with stray bits', tamper(good, 'stray-bits', 0), 'unauthorized'],
    [
      'base64 (not url) alphabet',
      `${good.split('.').slice(0, 2).join('.')}.+/${good.split('.')[2]?.slice(2)}`,
      'unauthorized',
    ],
    ['a space in a segment', tamper(good, 'space', 0), 'unauthorized'],
    ['an extra dot', tamper(good, 'extra-dot', 0), 'unauthorized'],
    ['two extra segments (JWE shape)', `${good}.x.y`, 'unauthorized'],
    ['payload not JSON', forge({ alg: 'HS256' }, '{"sub":"u1"', 'server', SERVER_SECRET), 'unauthorized'],
    [
      'payload invalid UTF-8',
      forge({ alg: 'HS256' }, new Uint8Array([0x7b, 0xff, 0x7d]), 'server', SERVER_SECRET),
      'unauthorized',
    ],
    ['header not an object', forge('["HS256"]', claims, 'server', SERVER_SECRET), 'unauthorized'],
    [
      'over 8192 characters',
      forge(
        { alg: 'HS256' },
        JSON.stringify({ sub: 'u1', exp: T0 + 60, pad: 'x'.repeat(6200) }),
        'server',
        SERVER_SECRET,
      ),
      'unauthorized',
    ],
  ])('%s', async (_name, token, code) => {
    expect(await outcome(fast, good)).toMatch(/^accepted/);
    expect(await outcome(fast, token)).toBe(code);
  });

  it('the time checks on their edges, as jose draws them (now in whole seconds, skew 30 s)', async () => {
    const at = (claimsSet: object, nowMs = T0 * 1000 + 999): Promise<string> => {
      const token = forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', ...claimsSet }), 'server', SERVER_SECRET);
      return outcome(pair({ ...config, nowMs }).fast, token);
    };
    expect(await at({ exp: T0 - 30 })).toBe('token_expired');
    expect(await at({ exp: T0 - 29 })).toMatch(/^accepted/);
    expect(await at({ exp: T0 + 60, nbf: T0 + 30 })).toMatch(/^accepted/);
    expect(await at({ exp: T0 + 60, nbf: T0 + 31 })).toBe('unauthorized');
    expect(await at({ exp: T0 + 60, iat: T0 + 30 })).toMatch(/^accepted/);
    expect(await at({ exp: T0 + 60, iat: T0 + 31 })).toBe('unauthorized');
    // 999 ms into the second: jose's "now" is still T0 for exp and nbf.
    expect(await at({ exp: T0 - 30 }, T0 * 1000)).toBe('token_expired');
    expect(await at({ exp: T0 + 60, nbf: T0 + 31 }, T0 * 1000 + 999)).toBe('unauthorized');
  });

  it('a token of 8192 characters is still read', async () => {
    const base = forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', exp: T0 + 60, pad: '' }), 'server', SERVER_SECRET);
    const padTo = (n: number): string =>
      forge({ alg: 'HS256' }, JSON.stringify({ sub: 'u1', exp: T0 + 60, pad: 'x'.repeat(n) }), 'server', SERVER_SECRET);
    // Each 3 bytes of padding add 4 characters; find the longest token not over the bound.
    let n = Math.floor(((8192 - base.length) * 3) / 4);
    while (padTo(n).length > 8192) n--;
    expect(padTo(n).length).toBeGreaterThan(8188);
    expect(await outcome(fast, padTo(n))).toMatch(/^accepted/);
    expect(await outcome(fast, padTo(n + 3))).toBe('unauthorized');
  });
});
