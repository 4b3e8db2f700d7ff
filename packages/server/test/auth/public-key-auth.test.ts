/**
 * A server verifying with public keys only (no HS256 secret): RS256, ES256 and EdDSA tokens over
 * the socket handshake, `refresh` and HTTP poll; and every token the claim rules refuse, refused on
 * all three paths without changing anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type TestClient } from '@tether/testing';
import { handshakeOutcome, pollOutcome, refreshOutcome, startKeyServer, type KeyServer } from './server-auth.js';
import { keyPair, nowSeconds, sign, unsignedToken, type TestKeyPair, type TokenSpec } from './keys.js';

const ISS = 'https://issuer.test';
const AUD = 'tether';
let srv: KeyServer;
let rsa: TestKeyPair;
let ec: TestKeyPair;
let ed: TestKeyPair;
const clients: TestClient[] = [];

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([keyPair('RS256'), keyPair('ES256'), keyPair('EdDSA')]);
  srv = await startKeyServer({
    jwtPublicKeys: [rsa.pem, ec.jwk, ed.pem],
    jwtIssuer: ISS,
    jwtAudience: AUD,
    maxTokenLifetimeSeconds: 3600,
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv.close();
});

const good = (key: TestKeyPair, spec: TokenSpec = {}): Promise<string> =>
  sign(key, { iss: ISS, aud: AUD, channels: ['room:*'], ...spec });

describe('public keys: RS256, ES256, EdDSA', () => {
  it('each key type connects, receives, refreshes (also with another key type) and polls over HTTP', async () => {
    for (const [key, other] of [
      [rsa, ec],
      [ec, ed],
      [ed, rsa],
    ] as const) {
      const sub = `user-${key.alg.toLowerCase()}`;
      const c = await connectClient(srv.url, await good(key, { sub }));
      clients.push(c);
      expect(await c.sub('room:pk')).not.toHaveProperty('error');
      await srv.server.publish({ channel: 'room:pk', type: 't', data: key.alg });
      await c.messages.waitFor((m) => m.data === key.alg);
      const exp = nowSeconds() + 1800;
      expect(await c.refresh(await good(key, { sub, exp }))).toEqual({ exp });
      expect(await c.refresh(await good(other, { sub, exp: exp + 1 }))).toEqual({ exp: exp + 1 });
      expect(await pollOutcome(srv.url, await good(key, { sub }))).toBe('ok');
      c.close();
    }
  });

  it('tokens the rules refuse are refused on the handshake, on refresh and over HTTP, and change nothing', async () => {
    const now = nowSeconds();
    const cases: [string, string, string][] = [
      ['no exp', await good(rsa, { exp: null }), 'unauthorized'],
      ['no exp, no iat', await good(ec, { exp: null, iat: null }), 'unauthorized'],
      ['iat far in the future', await good(ed, { iat: now + 86_400, exp: now + 86_400 + 60 }), 'unauthorized'],
      ['iat a minute ahead', await good(ed, { iat: now + 90, exp: now + 600 }), 'unauthorized'],
      ['empty sub', await good(rsa, { sub: '' }), 'unauthorized'],
      ['wrong iss', await good(ec, { iss: 'https://evil.test' }), 'unauthorized'],
      ['no iss', await good(ec, { iss: undefined }), 'unauthorized'],
      ['wrong aud', await good(ed, { aud: 'someone-else' }), 'unauthorized'],
      ['lifetime over the maximum', await good(rsa, { iat: now, exp: now + 7200 }), 'unauthorized'],
      ['lifetime over the maximum, no iat', await good(rsa, { iat: null, exp: now + 7200 }), 'unauthorized'],
      ['alg none', unsignedToken({ sub: 'u1', iss: ISS, aud: AUD, iat: now, exp: now + 60 }), 'unauthorized'],
      [
        'HS256 signed with the public key as secret',
        await sign(new TextEncoder().encode(rsa.pem), { iss: ISS, aud: AUD }),
        'unauthorized',
      ],
      [
        'HS256 signed with the JWK text as secret',
        await sign(new TextEncoder().encode(JSON.stringify(ec.jwk)), {
          iss: ISS,
          aud: AUD,
        }),
        'unauthorized',
      ],
      ['expired', await good(ec, { iat: now - 600, exp: now - 120 }), 'token_expired'],
    ];
    const witness = await connectClient(srv.url, await good(ec, { sub: 'witness' }));
    clients.push(witness);
    expect(await witness.sub('room:w')).not.toHaveProperty('error');
    const before = srv.server.stats();
    const connectionsBefore = srv.server.io.of('/').sockets.size;

    const got: Record<string, string[]> = {};
    for (const [name, token] of cases) {
      got[name] = [
        await handshakeOutcome(srv.url, token),
        await refreshOutcome(witness, token),
        await pollOutcome(srv.url, token),
      ];
    }
    expect(got).toEqual(Object.fromEntries(cases.map(([name, , code]) => [name, [code, code, `401 ${code}`]])));

    // Nothing changed: no connection was made, the witness keeps its claims and its subscription.
    const after = srv.server.stats();
    expect(after.authFailures - before.authFailures).toBeGreaterThanOrEqual(cases.length * 2);
    expect(after.connections).toBe(before.connections);
    expect(srv.server.io.of('/').sockets.size).toBe(connectionsBefore);
    expect(witness.socket.connected).toBe(true);
    await srv.server.publish({ channel: 'room:w', type: 't', data: 'still subscribed' });
    await witness.messages.waitFor((m) => m.data === 'still subscribed');
  });
});
