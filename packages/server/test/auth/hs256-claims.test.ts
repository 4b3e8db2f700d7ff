/**
 * The claim rules with the HS256 secret (the default setup of `startServer` and `tether serve`):
 * the same refusals as with public keys, since every path uses one verifier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '@tether/server';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, startServer, waitUntil, type TestServer } from '@tether/testing';
import type { ErrorFrame } from '@tether/protocol';
import { handshakeOutcome, pollOutcome } from './server-auth.js';
import { nowSeconds, sign } from './keys.js';

let srv: TestServer;
let secret: Uint8Array;

beforeAll(async () => {
  srv = await startServer({ clockSkewSeconds: 5 });
  secret = typeof srv.secret === 'string' ? new TextEncoder().encode(srv.secret) : srv.secret;
});

afterAll(async () => {
  await srv.close();
});

describe('HS256 tokens and the claim rules', () => {
  it('no exp, iat in the future, empty sub, a lifetime over 24 h: unauthorized on the handshake and over HTTP', async () => {
    const now = nowSeconds();
    const cases: [string, string][] = [
      ['no exp', await sign(secret, { exp: null })],
      ['iat 10 s ahead (skew 5 s)', await sign(secret, { iat: now + 10, exp: now + 600 })],
      ['empty sub', await sign(secret, { sub: '' })],
      ['lifetime 24 h + 1 s', await sign(secret, { iat: now, exp: now + 86_401 })],
      ['issueToken with a 2-day ttl', await issueToken({ secret, sub: 'u1', ttlSeconds: 2 * 86_400 })],
    ];
    for (const [name, token] of cases) {
      expect([name, await handshakeOutcome(srv.url, token)]).toEqual([name, 'unauthorized']);
      expect([name, await pollOutcome(srv.url, token)]).toEqual([name, '401 unauthorized']);
    }
    // The limits themselves pass.
    expect(await handshakeOutcome(srv.url, await sign(secret, { iat: now + 4, exp: now + 600 }))).toBe('connected');
    expect(await handshakeOutcome(srv.url, await issueToken({ secret, sub: 'u1', ttlSeconds: 86_400 }))).toBe(
      'connected',
    );
  });

  it('issueToken refuses an empty sub, as the server would', async () => {
    await expect(issueToken({ secret, sub: '' })).rejects.toThrow(TypeError);
  });

  it('a token accepted within the clock skew after its exp keeps its connection until exp + skew, then token_expired', async () => {
    const exp = nowSeconds() - 2; // passed 2 s ago; the server's skew is 5 s, so the handshake accepts it
    const client = await connectClient(srv.url, await sign(secret, { iat: exp - 60, exp }));
    const errors: ErrorFrame[] = [];
    let closedAt = 0;
    client.socket.on('error', (e) => errors.push(e));
    client.socket.on('disconnect', () => (closedAt = Date.now()));
    try {
      await sleep(500);
      expect(client.socket.connected).toBe(true); // not closed at once for an exp already passed
      await waitUntil(() => (closedAt > 0 ? true : undefined), 8000, 'the connection closed at exp + skew');
      expect(closedAt).toBeGreaterThanOrEqual((exp + 5) * 1000 - 100);
      expect(errors).toEqual([expect.objectContaining({ code: 'token_expired' })]);
    } finally {
      client.close();
    }
  });
});
