/**
 * Scenario `ingress`: HTTP publishes from a separate load process (workers/http-publisher.js,
 * autocannon) at stepped rates over 50 keep-alive connections, each `POST /v1/publish` to the inbox
 * of one random user among C connected users, whose client must receive it once. Three systems,
 * each in its own server process, in one run: the minimal baseline (fastify + Socket.IO, a route
 * that only emits to the user's room: servers/socketio-server.js with `BENCH_API_KEY`), Tether with
 * the memory store and Tether with the SQLite store. The loaders and the step rows are those of
 * scenario `inbox` (scenarios/inbox.js); the step's rate counts accepted publishes.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Child } from '../lib/rpc.js';
import { inboxDefaults, inboxSystem, runFamilyRounds } from './inbox.js';
import { profArgs } from '../lib/prof.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const ingressDefaults = {
  ...inboxDefaults,
  clients: 1000,
  workers: 2,
  /** Publishes per second offered by the load process, each to one random user. */
  rates: [1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 24000],
  /** Concurrent HTTP publishers (keep-alive connections, one request in flight each). */
  connections: 50,
  stepSeconds: 5,
  /**
   * A step at the first rate before the measured ones, for every system: a fresh server's first
   * seconds of publishes cost ~1.5× its steady state (code not yet optimised), which failed the
   * first rung for every system in session 11 and so counted against whichever was near its limit.
   */
  warmupSeconds: 4,
  cpuProf: false,
};

const SOCKETIO = here('../servers/socketio-server.js');
const TETHER = here('../servers/tether-server.js');

/** Systems by name, in the order they run. */
export const INGRESS_SYSTEMS = {
  baseline: {
    label: 'fastify + Socket.IO, POST emits to the room',
    script: SOCKETIO,
    store: null,
    env: { BENCH_MODE: 'inbox' },
  },
  'tether-memory': { label: 'tether, memory store', script: TETHER, store: 'memory', env: {} },
  'tether-sqlite': { label: 'tether, SQLite store', script: TETHER, store: 'sqlite', env: {} },
};

/** The targets: Tether SQLite ≥ 0.8× and memory ≥ 0.9× the baseline's accepted publishes/s. */
const TARGETS = [
  { system: 'tether-memory', baseline: 'baseline', goal: 0.9 },
  { system: 'tether-sqlite', baseline: 'baseline', goal: 0.8 },
];

/**
 * Every system once per round (`runFamilyRounds` in scenarios/inbox.js: ABBA rounds, medians;
 * `--interleave`: the systems take turns at every rate).
 * @param {typeof ingressDefaults & {stamp: string, cores: number, only: string[] | null, interleave?: boolean}} opts
 */
export function runIngress(opts) {
  const title =
    `ingress: ${opts.clients} users, ${opts.connections} HTTP publishers (POST /v1/publish to one random ` +
    `user's inbox), ${opts.stepSeconds} s steps, loopback; msg/s = accepted publishes delivered`;
  return runFamilyRounds(
    title,
    opts,
    opts.only ?? Object.keys(INGRESS_SYSTEMS),
    (name) => ingressSystem(name, opts),
    'baseline',
    TARGETS,
  );
}

/**
 * One system's ladder: its server, the HTTP load process and the loaders (scenario `inbox`'s).
 * @param {string} name
 * @param {typeof ingressDefaults & {stamp: string, cores: number}} opts
 */
function ingressSystem(name, opts) {
  const apiKey = `bench_${randomBytes(18).toString('base64url')}`;
  const variant = {
    env: { BENCH_API_KEY: apiKey },
    execArgv: profArgs(opts, `ingress-${name}`),
    /** @param {number} port */
    publisher: async (port) => {
      const load = new Child(here('../workers/http-publisher.js'), {
        name: 'http-publisher',
        execArgv: profArgs(opts, `ingress-http-${name}`),
        env: {
          ...process.env,
          BENCH_URL: `http://127.0.0.1:${port}`,
          BENCH_API_KEY: apiKey,
          BENCH_USERS: String(opts.clients),
          BENCH_CONNECTIONS: String(opts.connections),
        },
      });
      await load.waitFor('ready', 30_000);
      console.log(`  HTTP load process pid ${load.pid}: ${opts.connections} keep-alive connections (autocannon)`);
      return load;
    },
  };
  return inboxSystem(name, INGRESS_SYSTEMS[name], opts, variant);
}
