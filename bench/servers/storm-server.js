/**
 * Tether as the CLI runs it, for scenario `storm`: `createTetherServer` on a SQLite file the
 * scenario owns (`BENCH_DB`, kept across `kill -9` and restart), an API key for HTTP publishes,
 * production limits (`BENCH_LIMITS`, JSON merged over the defaults: the storm lifts only the
 * per-IP caps that 10,000 clients from 127.0.0.1 would hit), on `BENCH_PORT` (0 the first time,
 * the same port after the restart). Extra server options as JSON in `BENCH_OPTIONS`.
 * `BENCH_TETHER_MODULE=<path to an index.js>` runs another build (an A/B), as in tether-server.js.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve, usage } from '../lib/rpc.js';

const { createTetherServer } = process.env.BENCH_TETHER_MODULE
  ? await import(pathToFileURL(resolve(process.env.BENCH_TETHER_MODULE)).href)
  : await import('@tether/server');

const secret = process.env.BENCH_JWT_SECRET;
const apiKey = process.env.BENCH_API_KEY;
const db = process.env.BENCH_DB;
if (!secret || !apiKey || !db) throw new Error('BENCH_JWT_SECRET, BENCH_API_KEY and BENCH_DB are required');
const limits = process.env.BENCH_LIMITS ? JSON.parse(process.env.BENCH_LIMITS) : {};
const extra = process.env.BENCH_OPTIONS ? JSON.parse(process.env.BENCH_OPTIONS) : {};

const server = await createTetherServer({
  store: `sqlite:${db}`,
  jwtSecret: secret,
  apiKeys: [{ key: apiKey, tenant: process.env.BENCH_TENANT ?? 'bench' }],
  logger: false,
  limits,
  ...extra,
});
const { port } = await server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1');

serve({
  stats() {
    return { ...usage(), tether: server.stats() };
  },
  async exit() {
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  },
});

process.send?.({ type: 'ready', port, startupMs: Math.round(performance.now()) });
