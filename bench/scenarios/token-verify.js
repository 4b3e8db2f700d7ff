/**
 * What checking one HS256 user token costs, node:crypto (`auth/hs256.ts`, the default) against jose
 * (webcrypto), paired in one process: rounds alternate between the two verifiers on the same
 * tokens, so that a shared box's load falls on both alike. Each token is distinct (as after a
 * restart, when the token cache is empty), checked by the verifier itself, without the cache.
 *
 *   npm run build && node bench/scenarios/token-verify.js [--tokens 5000] [--rounds 6] [--in-flight 256]
 *
 * Two ways per round: one token at a time (`await` each: the latency of one check) and
 * `--in-flight` checks started together (a burst of handshakes: throughput). Prints wall and CPU
 * µs per token (CPU = process.cpuUsage, every thread, so jose's thread-pool work is in it) and the
 * checks per second one core gives at that CPU cost. Bounded by `--tokens` × `--rounds`.
 */
import { createHmac } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createTokenVerifier } from '../../packages/server/dist/auth/verify-token.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    'in-flight': { type: 'string', default: '256' },
  },
});
const tokenCount = Number(values.tokens);
const rounds = Number(values.rounds);
const inFlight = Number(values['in-flight']);

const secret = new Uint8Array(Buffer.from('bench-secret-of-thirty-two-bytes'));
const now = Math.floor(Date.now() / 1000);
const b64 = (text) => Buffer.from(text).toString('base64url');
/** Tokens like the storm bench's: one user each, an inbox and a shared channel. */
const tokens = Array.from({ length: tokenCount }, (_, i) => {
  const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(
    JSON.stringify({ sub: `bench-${i}`, channels: ['room:all'], iat: now, exp: now + 3600 }),
  )}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
});

const common = { secret, publicKeys: [], maxLifetimeSeconds: 86_400, clockSkewSeconds: 30 };
const verifiers = {
  node: createTokenVerifier(common),
  jose: createTokenVerifier({ ...common, hs256With: 'jose' }),
};

async function oneAtATime(verify) {
  for (const token of tokens) await verify(token);
}

async function burst(verify) {
  for (let i = 0; i < tokens.length; i += inFlight) {
    await Promise.all(tokens.slice(i, i + inFlight).map((token) => verify(token)));
  }
}

async function measure(verify, way) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await way(verify);
  const wallUs = Number(process.hrtime.bigint() - start) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  return { wallUs: wallUs / tokens.length, cpuUs: (user + system) / tokens.length };
}

const results = { node: { one: [], burst: [] }, jose: { one: [], burst: [] } };
// A warm-up of each, not counted.
for (const verify of Object.values(verifiers)) await oneAtATime(verify);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['node', 'jose'] : ['jose', 'node'];
  for (const name of order) {
    results[name].one.push(await measure(verifiers[name], oneAtATime));
    results[name].burst.push(await measure(verifiers[name], burst));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
console.log(
  `${tokenCount} distinct HS256 tokens × ${rounds} rounds, alternating; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  'verifier  way                 wall µs/token (median, range)   CPU µs/token (median, range)   checks/s per core',
);
for (const name of ['node', 'jose']) {
  for (const [way, label] of [
    ['one', 'one at a time'],
    ['burst', `${inFlight} in flight`],
  ]) {
    const wall = results[name][way].map((r) => r.wallUs);
    const cpu = results[name][way].map((r) => r.cpuUs);
    console.log(
      `${name.padEnd(9)} ${label.padEnd(19)} ${median(wall).toFixed(1).padStart(7)} (${range(wall)})`.padEnd(65) +
        `${median(cpu).toFixed(1).padStart(7)} (${range(cpu)})`.padEnd(31) +
        `${Math.round(1e6 / median(cpu))}`,
    );
  }
}
