/**
 * The cache of verified tokens in front of the real verifier, with an injected clock: a repeat
 * costs no verification, an entry never outlives the token's `exp` nor `tokenCacheTtlMs` (the
 * bound on how long a token stays accepted after its key left the server), refusals are never
 * kept, and the cache is bounded in entries and bytes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TetherError } from '@tether/protocol';
import { issueToken } from '../../src/auth/issue-token.js';
import { createTokenVerifier, secretKey, type VerifyToken } from '../../src/auth/verify-token.js';
import { cachedTokenVerifier, TokenCache } from '../../src/auth/token-cache.js';
import { defaults } from '../../src/options.js';

const T0 = 1_900_000_000_000; // a fixed "now", ms
const SECRET_A = 'the-first-secret-of-thirty-two-b';
const SECRET_B = 'the-second-secret-of-thirty-two-';

function realVerifier(secret: string, clock: () => number): VerifyToken {
  return createTokenVerifier({
    secret: secretKey(secret),
    publicKeys: [],
    maxLifetimeSeconds: defaults.maxTokenLifetimeSeconds,
    clockSkewSeconds: 0,
    now: clock,
  });
}

/** The real verifier behind a cache, with a count of the verifications that reached it. */
function setup(options: { maxEntries?: number; ttlMs?: number; maxBytes?: number } = {}) {
  let now = T0;
  const clock = () => now;
  let behind = realVerifier(SECRET_A, clock);
  let verifications = 0;
  const verify = cachedTokenVerifier(
    (token) => {
      verifications++;
      return behind(token);
    },
    { maxEntries: options.maxEntries ?? 100, ttlMs: options.ttlMs ?? 60_000, maxBytes: options.maxBytes, now: clock },
  );
  return {
    verify,
    verifications: () => verifications,
    advance: (ms: number) => (now += ms),
    /** The server's keys change: the secret behind the cache is another one. */
    rotate: () => (behind = realVerifier(SECRET_B, clock)),
  };
}

const token = (sub: string, ttlSeconds = 3600, secret = SECRET_A) =>
  issueToken({ sub, secret, ttlSeconds, channels: ['room:*'], now: () => T0 });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return (err as TetherError).code;
  }
}

describe('cached token verifier', () => {
  it('verifies a token once and answers its repeats with the same claims', async () => {
    const t = setup();
    const tok = await token('u1');
    const first = await t.verify(tok);
    const again = await t.verify(tok);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ sub: 'u1', channels: ['room:*'] });
    expect(t.verifications()).toBe(1);
    await t.verify(await token('u2'));
    expect(t.verifications()).toBe(2);
  });

  it('never answers from the cache past the token’s exp: the full check then says token_expired', async () => {
    const t = setup({ ttlMs: 3_600_000 });
    const tok = await token('u1', 10);
    await t.verify(tok);
    t.advance(9_000);
    expect(await codeOf(t.verify(tok))).toBe('accepted');
    expect(t.verifications()).toBe(1);
    t.advance(1_000);
    expect(await codeOf(t.verify(tok))).toBe('token_expired');
    expect(t.verifications()).toBe(2);
  });

  it('after the keys change, a cached token stays accepted at most tokenCacheTtlMs', async () => {
    const t = setup({ ttlMs: 5_000 });
    const tok = await token('u1');
    await t.verify(tok);
    t.rotate();
    t.advance(4_999);
    expect(await codeOf(t.verify(tok))).toBe('accepted');
    t.advance(1);
    expect(await codeOf(t.verify(tok))).toBe('unauthorized');
    // A token of the new keys verifies; a refusal is never kept.
    expect(await codeOf(t.verify(await token('u2', 3600, SECRET_B)))).toBe('accepted');
    expect(await codeOf(t.verify(tok))).toBe('unauthorized');
    expect(t.verifications()).toBe(4);
  });

  it('keeps at most maxEntries, the oldest go first; 0 turns the cache off', async () => {
    const t = setup({ maxEntries: 2 });
    const [a, b, c] = await Promise.all([token('a'), token('b'), token('c')]);
    for (const tok of [a, b, c]) await t.verify(tok);
    expect(t.verifications()).toBe(3);
    await t.verify(c);
    await t.verify(b);
    expect(t.verifications()).toBe(3);
    await t.verify(a); // evicted
    expect(t.verifications()).toBe(4);

    const off = setup({ maxEntries: 0 });
    await off.verify(a);
    await off.verify(a);
    expect(off.verifications()).toBe(2);
  });

  it('is bounded in bytes of token text', async () => {
    const [a, b] = await Promise.all([token('a'), token('b')]);
    const cache = new TokenCache({ maxEntries: 100, ttlMs: 60_000, maxBytes: a.length + b.length - 1, now: () => T0 });
    const claims = { sub: 'x', tenant: 'default', channels: [], publish: [], exp: T0 / 1000 + 60 };
    cache.set(a, { ...claims });
    cache.set(b, { ...claims });
    expect(cache.size).toBe(1);
    expect(cache.get(a)).toBeUndefined();
    expect(cache.get(b)).toMatchObject({ sub: 'x' });
  });

  it('hands out claims nobody can change (they are shared by every connection of the token)', async () => {
    const t = setup();
    const tok = await token('u1');
    const claims = await t.verify(tok);
    expect(() => (claims.channels as string[]).push('room:other')).toThrow(TypeError);
    expect((await t.verify(tok)).channels).toEqual(['room:*']);
  });

  describe('sweep of expired entries (fake time)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const claimsUntil = (expSeconds: number) => ({
      sub: 'x',
      tenant: 'default',
      channels: [],
      publish: [],
      exp: expSeconds,
    });

    it('drops entries past their time without any further use of the cache, a bounded slice per tick', () => {
      vi.useFakeTimers({ now: T0 });
      const cache = new TokenCache({ maxEntries: 5000, ttlMs: 60_000 });
      // 3,000 entries that end with the TTL, and one whose token ends sooner, added last.
      for (let i = 0; i < 3000; i++) cache.set(`token-${i}`, claimsUntil(T0 / 1000 + 3600));
      cache.set('short', claimsUntil(T0 / 1000 + 10));
      expect(cache.size).toBe(3001);
      vi.advanceTimersByTime(10_000);
      // The short one is seen on the pass that reaches it; the others are still trusted.
      vi.advanceTimersByTime(3_000);
      expect(cache.size).toBe(3000);
      vi.advanceTimersByTime(60_000 - 13_000); // every entry's TTL is over; the next tick sweeps
      // A tick looks at 1,024 entries at most, resuming where the last one stopped.
      const afterOneTick = cache.size;
      expect(afterOneTick).toBeLessThan(3000);
      expect(afterOneTick).toBeGreaterThanOrEqual(3000 - 1024);
      vi.advanceTimersByTime(1_000);
      expect(cache.size).toBeGreaterThanOrEqual(afterOneTick - 1024);
      vi.advanceTimersByTime(3_000); // ⌈3000 / 1024⌉ ticks after the first: all gone
      expect(cache.size).toBe(0);
      // Nothing left to sweep: the timer is gone (an idle server keeps none running).
      expect(vi.getTimerCount()).toBe(0);
    });

    it('keeps entries still trusted, and sweeps again after new ones come', () => {
      vi.useFakeTimers({ now: T0 });
      const cache = new TokenCache({ maxEntries: 100, ttlMs: 5_000 });
      cache.set('a', claimsUntil(T0 / 1000 + 3600));
      vi.advanceTimersByTime(3_000);
      cache.set('b', claimsUntil(T0 / 1000 + 3600));
      vi.advanceTimersByTime(2_000); // a's 5 s are over, b has 3 s left
      expect(cache.size).toBe(1);
      expect(cache.get('b')).toMatchObject({ sub: 'x' });
      vi.advanceTimersByTime(3_000);
      expect(cache.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      cache.set('c', claimsUntil(T0 / 1000 + 3600));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(5_000);
      expect(cache.size).toBe(0);
    });
  });
});
