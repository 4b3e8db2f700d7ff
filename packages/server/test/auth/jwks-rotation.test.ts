/**
 * A server verifying with a JWKS URL (a local JWKS server), live: a key rotation while clients are
 * connected, a storm of unknown kids, and a JWKS server that fails after the first fetch.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame } from '@tether/protocol';
import { connectClient, waitUntil, type TestClient } from '@tether/testing';
import { startJwksServer, type JwksServer } from './jwks-server.js';
import { handshakeOutcome, pollOutcome, startKeyServer, type KeyServer } from './server-auth.js';
import { keyPair, nowSeconds, sign, type TestKeyPair } from './keys.js';

let oldKey: TestKeyPair;
let newKey: TestKeyPair;
let stranger: TestKeyPair;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  [oldKey, newKey, stranger] = await Promise.all([
    keyPair('RS256', 'rotation-old'),
    keyPair('ES256', 'rotation-new'),
    keyPair('EdDSA', 'not-published'),
  ]);
});

afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function setup(cooldownMs: number): Promise<{ jwks: JwksServer; srv: KeyServer }> {
  const jwks = await startJwksServer([oldKey.jwk]);
  cleanup.push(() => jwks.close());
  // Skew 0: old connections end at their tokens' exp.
  const srv = await startKeyServer({
    jwksUrl: jwks.url,
    jwksCooldownMs: cooldownMs,
    jwksTimeoutMs: 1000,
    clockSkewSeconds: 0,
  });
  cleanup.push(() => srv.close());
  return { jwks, srv };
}

async function connect(srv: KeyServer, token: string): Promise<TestClient> {
  const c = await connectClient(srv.url, token);
  cleanup.push(() => c.close());
  expect(await c.sub('room:rot')).not.toHaveProperty('error');
  return c;
}

const claims = { channels: ['room:*'] };

describe('JWKS on a live server', () => {
  it('a key rotation: old connections stay until their expiry, new-key tokens are accepted, the removed key is refused', async () => {
    const { jwks, srv } = await setup(0);
    const exp = nowSeconds() + 3; // the old connections' tokens expire in 2–3 s
    const [expiring, migrating] = await Promise.all([
      connect(srv, await sign(oldKey, { ...claims, sub: 'old-1', exp })),
      connect(srv, await sign(oldKey, { ...claims, sub: 'old-2', exp })),
    ]);
    expect(jwks.requests).toBe(1);

    // The issuer rotates: the new key is published, the old one withdrawn.
    jwks.keys = [newKey.jwk];
    const fresh = await connect(srv, await sign(newKey, { ...claims, sub: 'new-1' }));
    expect(jwks.requests).toBe(2); // the unknown kid fetched the new set
    expect(await handshakeOutcome(srv.url, await sign(oldKey, { ...claims, sub: 'late' }))).toBe('unauthorized');
    expect(await pollOutcome(srv.url, await sign(oldKey, { ...claims, sub: 'late' }))).toBe('401 unauthorized');
    expect(await pollOutcome(srv.url, await sign(newKey, { ...claims, sub: 'new-2' }))).toBe('ok');

    // Connections made with the old key keep working until their token expires.
    await srv.server.publish({ channel: 'room:rot', type: 't', data: 'after rotation' });
    for (const c of [expiring, migrating, fresh]) await c.messages.waitFor((m) => m.data === 'after rotation');
    // One moves to a new-key token by `refresh`; the other is closed at its expiry.
    expect(await migrating.refresh(await sign(newKey, { ...claims, sub: 'old-2' }))).toMatchObject({
      exp: expect.any(Number),
    });
    const errors: ErrorFrame[] = [];
    expiring.socket.on('error', (e) => errors.push(e));
    await waitUntil(() => (expiring.socket.connected ? undefined : true), 5000, 'the old-key connection closed at exp');
    expect(errors).toEqual([expect.objectContaining({ code: 'token_expired' })]);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 100);
    await srv.server.publish({ channel: 'room:rot', type: 't', data: 'after expiry' });
    for (const c of [migrating, fresh]) await c.messages.waitFor((m) => m.data === 'after expiry');
    expect(migrating.socket.connected).toBe(true);
  });

  it('a storm of connections with unknown kids costs one JWKS fetch per cooldown', async () => {
    const { jwks, srv } = await setup(60_000);
    await connect(srv, await sign(oldKey, { ...claims, sub: 'first' }));
    expect(jwks.requests).toBe(1);
    const tokens = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sign(stranger, { ...claims, sub: `s${i}`, kid: `kid-${i}` })),
    );
    const outcomes = await Promise.all(tokens.map((t) => handshakeOutcome(srv.url, t)));
    expect(outcomes).toEqual(tokens.map(() => 'unauthorized'));
    expect(jwks.requests).toBeLessThanOrEqual(2);
    const polls = await Promise.all(tokens.slice(0, 10).map((t) => pollOutcome(srv.url, t)));
    expect(polls).toEqual(polls.map(() => '401 unauthorized'));
    expect(jwks.requests).toBeLessThanOrEqual(2);
    // Known keys are unaffected.
    await connect(srv, await sign(oldKey, { ...claims, sub: 'second' }));
  });

  it('a JWKS server failing after the first fetch: known keys keep verifying with the last good set', async () => {
    const { jwks, srv } = await setup(0);
    await connect(srv, await sign(oldKey, { ...claims, sub: 'before' }));
    jwks.mode = 'fail';
    // An unknown kid makes the server refetch (cooldown 0); the fetch fails; the good set stays.
    expect(await handshakeOutcome(srv.url, await sign(stranger, { ...claims, sub: 'x' }))).toBe('unauthorized');
    expect(jwks.requests).toBe(2);
    await connect(srv, await sign(oldKey, { ...claims, sub: 'during' }));
    expect(await pollOutcome(srv.url, await sign(oldKey, { ...claims, sub: 'during' }))).toBe('ok');
    jwks.mode = 'hang';
    expect(await handshakeOutcome(srv.url, await sign(stranger, { ...claims, sub: 'y' }))).toBe('unauthorized');
    await connect(srv, await sign(oldKey, { ...claims, sub: 'while-hanging' }));
  });
});
