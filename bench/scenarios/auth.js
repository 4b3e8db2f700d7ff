/**
 * Scenario `auth`: what verifying user tokens and matching their channel claims cost, through the
 * public API only: an in-process server, `POST /v1/poll` one request at a time (each request
 * verifies its bearer token and checks the claims of every channel it names).
 *
 * - per algorithm: HS256, RS256, ES256, EdDSA (a server with the secret and the three public keys);
 * - claim globs: a token whose `channels` claim starts with hostile patterns (`*a*a*…*b`) that the
 *   polled names (200 characters of `a`) never match, against a token with one plain pattern.
 *   With the old backtracking regex one such check took ~1.9 s (`*a*a*a*a*b`); it is now linear.
 */
/* global fetch */
import { randomBytes } from 'node:crypto';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { fileURLToPath } from 'node:url';
import { createTetherServer } from '@tether/server';

export const authDefaults = {
  requests: 400,
  hostilePatterns: 400, // what fits in a token under the 16 KiB header limit
  channels: 20,
  resultsDir: fileURLToPath(new URL('../results/', import.meta.url)),
};

export async function runAuth(opts) {
  const secret = randomBytes(32);
  const keys = {};
  for (const alg of ['RS256', 'ES256', 'EdDSA']) keys[alg] = await generateKeyPair(alg);
  const server = await createTetherServer({
    store: 'memory',
    logger: false,
    jwtSecret: secret,
    jwtPublicKeys: await Promise.all(Object.values(keys).map((k) => exportSPKI(k.publicKey))),
  });
  const { url } = await server.listen(0, '127.0.0.1');
  try {
    const token = (alg, channels) => {
      const jwt = new SignJWT({ channels }).setSubject('bench').setIssuedAt().setExpirationTime('1h');
      return jwt.setProtectedHeader({ alg }).sign(alg === 'HS256' ? secret : keys[alg].privateKey);
    };
    const names = Array.from({ length: opts.channels }, (_, i) => `${'a'.repeat(196)}:${String(i).padStart(3, '0')}`);
    const poll = async (bearer, channels) => {
      const res = await fetch(`${url}/v1/poll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ positions: Object.fromEntries(channels.map((c) => [c, { offset: 0 }])) }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`poll answered ${res.status}`);
    };
    const measure = async (bearer, channels) => {
      for (let i = 0; i < 20; i++) await poll(bearer, channels); // warm-up
      const started = performance.now();
      for (let i = 0; i < opts.requests; i++) await poll(bearer, channels);
      return (performance.now() - started) / opts.requests;
    };

    const rows = [];
    for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA']) {
      rows.push({
        case: `${alg} token, 1 channel`,
        msPerRequest: await measure(await token(alg, ['*']), names.slice(0, 1)),
      });
    }
    const hostile = Array.from({ length: opts.hostilePatterns }, (_, i) => `*a*a*a*a*a*a*a*a*${i}b`);
    const last = '*:*'; // matches every polled name, after all the hostile ones were tried
    const plain = await measure(await token('HS256', [last]), names);
    const hostileMs = await measure(await token('HS256', [...hostile, last]), names);
    rows.push({ case: `HS256, ${opts.channels} channels, 1 plain pattern`, msPerRequest: plain });
    rows.push({
      case: `HS256, ${opts.channels} channels, ${opts.hostilePatterns} hostile patterns first`,
      msPerRequest: hostileMs,
      checks: opts.channels * (opts.hostilePatterns + 1),
      usPerHostileCheck: ((hostileMs - plain) * 1000) / (opts.channels * opts.hostilePatterns),
    });
    for (const r of rows) {
      const extra =
        r.usPerHostileCheck === undefined ? '' : `  (${r.usPerHostileCheck.toFixed(2)} µs per hostile check)`;
      console.log(`  ${r.case.padEnd(48)} ${r.msPerRequest.toFixed(3)} ms/request${extra}`);
    }
    return { rows };
  } finally {
    await server.close();
  }
}
