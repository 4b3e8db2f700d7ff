/**
 * Tether under test, in its own process: `createTetherServer` from the built workspace package,
 * memory store by default (`BENCH_STORE=sqlite` for a fresh SQLite file, `BENCH_STORE=redis://…` for
 * a cluster node), listening on 127.0.0.1:0.
 * Messages are published in-process with `server.publish`, as an app would. `BENCH_TETHER_MODULE=<path
 * to an index.js>` runs another build instead (an A/B of a change, both built in one tree).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { collect, runStep } from '../lib/publisher.js';
import { runInboxStep } from '../lib/inbox-publisher.js';
import { serve, usage } from '../lib/rpc.js';
import { startAllocSampling, stopAllocSampling } from '../lib/alloc-sample.js';
import { pinSelf } from '../lib/cpu-pin.js';

pinSelf(); // onto the run's server CPU, if it chose one (lib/cpu-pin.js)

// `BENCH_TETHER_MODULE`: another build of the server (e.g. one compiled before a change) for an A/B on one box.
const { createTetherServer, noLimits } = process.env.BENCH_TETHER_MODULE
  ? await import(pathToFileURL(resolve(process.env.BENCH_TETHER_MODULE)).href)
  : await import('@tether/server');

const CHANNEL = process.env.BENCH_CHANNEL ?? 'bench:fanout';
const TENANT = process.env.BENCH_TENANT ?? 'bench';
/** `BENCH_MODE=inbox` (scenario `inbox`): each message to the inbox `user:bench-<n>` of one of `BENCH_USERS` users. */
const INBOX = process.env.BENCH_MODE === 'inbox';
const USERS = Number(process.env.BENCH_USERS ?? 0);
const secret = process.env.BENCH_JWT_SECRET;
if (!secret) throw new Error('BENCH_JWT_SECRET is required');

let dir = null;
let store = 'memory';
if (process.env.BENCH_STORE === 'sqlite') {
  dir = mkdtempSync(join(tmpdir(), 'tether-bench-'));
  store = `sqlite:${join(dir, 'bench.db')}`;
} else if (/^rediss?:\/\//.test(process.env.BENCH_STORE ?? '')) {
  // A cluster node (scenario `cluster`): the Redis store, and the Redis adapter between nodes.
  store = process.env.BENCH_STORE;
}

// Thousands of bench clients come from 127.0.0.1 within seconds: the rate limits and connection
// caps are lifted (0 = off) unless a scenario sets them (`BENCH_LIMITS`, JSON, e.g. `{}` for the defaults).
const limits = process.env.BENCH_LIMITS ? JSON.parse(process.env.BENCH_LIMITS) : noLimits;

// Scenario `ingress`: publishes come over HTTP with this key, for the bench tenant.
const apiKeys = process.env.BENCH_API_KEY ? [{ key: process.env.BENCH_API_KEY, tenant: TENANT }] : undefined;
// More options as JSON (`BENCH_SERVER_OPTIONS`, e.g. `{"perMessageDeflate":true}` for `idle --deflate`).
const extra = process.env.BENCH_SERVER_OPTIONS ? JSON.parse(process.env.BENCH_SERVER_OPTIONS) : {};
const server = await createTetherServer({
  store,
  jwtSecret: secret,
  logger: false,
  limits,
  ...(apiKeys ? { apiKeys } : {}),
  ...extra,
});
const { port } = await server.listen(0, '127.0.0.1');

const cleanup = () => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
};
process.on('exit', cleanup);

serve({
  stats() {
    return { ...usage(), tether: server.stats() };
  },
  gc() {
    collect();
    return usage();
  },
  step(args) {
    // `BENCH_ALLOC_PROFILE=<file>`: the bytes allocated from the first step on (written at exit).
    if (process.env.BENCH_ALLOC_PROFILE) startAllocSampling();
    if (INBOX) {
      return runInboxStep(args, USERS, async (user, data) => {
        const r = await server.publish({ tenant: TENANT, channel: `user:bench-${user}`, type: 'tick', data });
        return r.offset;
      });
    }
    return runStep(args, async (data) => {
      const r = await server.publish({ tenant: TENANT, channel: CHANNEL, type: 'tick', data });
      return r.offset;
    });
  },
  async exit() {
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    cleanup();
    if (process.env.BENCH_ALLOC_PROFILE) stopAllocSampling(process.env.BENCH_ALLOC_PROFILE);
  },
});

process.send?.({ type: 'ready', port, store });
