/**
 * Bench entry point: `npm run bench -- <scenario> [flags]` (builds first), or
 * `node bench/run.js <scenario> [flags]` after `npm run build`.
 *
 * Scenarios:
 *   fanout    C clients on one channel, stepped publish rates; Tether against plain Socket.IO
 *   cluster   the same clients on 1 Tether node vs N nodes sharing one private Redis
 *   auth      token verification per algorithm and claim-glob matching, over HTTP poll
 *   fuzz      a million generated hostile frames against one server process (see scenarios/fuzz.js)
 *   flood     one socket floods; a bystander's delivery p99 with the rate limits on and off
 *   inbox     one message to one random user's inbox: plain, emitWithAck, Tether memory and SQLite
 *   ingress   HTTP publishes from a load process to random inboxes: fastify + Socket.IO, Tether memory, SQLite
 *   storm     the resume storm: C clients, kill -9, restart on the same SQLite file, publishing on
 *   idle      memory per idle authenticated connection (10,000 on their inboxes): Tether vs plain
 *   deflate   bytes on the wire and server CPU per message with permessage-deflate off and on
 *   presence  N clients join one presence channel: presence frames and bytes at 1000 / 2500 / 5000 members
 *   metrics   fan-out and inbox throughput with the Prometheus metrics off and on, alternating
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SYSTEMS, fanoutDefaults, runFanout } from './scenarios/fanout.js';
import { clusterDefaults, runCluster } from './scenarios/cluster.js';
import { authDefaults, runAuth } from './scenarios/auth.js';
import { fuzzDefaults, runFuzz } from './scenarios/fuzz.js';
import { floodDefaults, runFlood } from './scenarios/flood.js';
import { INBOX_SYSTEMS, inboxDefaults, runInbox } from './scenarios/inbox.js';
import { INGRESS_SYSTEMS, ingressDefaults, runIngress } from './scenarios/ingress.js';
import { runStorm, stormDefaults } from './scenarios/storm.js';
import { IDLE_SYSTEMS, idleDefaults, runIdle } from './scenarios/idle.js';
import { DEFLATE_SETTINGS, deflateDefaults, runDeflate } from './scenarios/deflate.js';
import { presenceDefaults, runPresence } from './scenarios/presence.js';
import { METRICS_PARTS, metricsDefaults, runMetrics } from './scenarios/metrics.js';
import { USAGE } from './lib/usage.js';
import { chooseServerCpu } from './lib/cpu-pin.js';

/** Scenario name → runner. */
const scenarios = {
  fanout: runFanoutCli,
  cluster: runClusterCli,
  auth: runAuthCli,
  fuzz: runFuzzCli,
  flood: runFloodCli,
  inbox: runInboxCli,
  ingress: runIngressCli,

  storm: runStormCli,
  idle: runIdleCli,
  deflate: runDeflateCli,
  presence: runPresenceCli,
  metrics: runMetricsCli,
};

function machine() {
  const c = cpus();
  return {
    cores: availableParallelism(),
    cpuModel: c[0]?.model ?? 'unknown',
    node: process.version,
    memGB: Math.round(totalmem() / 2 ** 30),
  };
}

/** A flag's integer value, at least `min` (1 unless the flag allows 0). */
function int(v, name, min = 1) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(`--${name} must be ${min === 0 ? '0 or ' : ''}a positive integer, got ${v}`);
  }
  return n;
}

/** parseArgs options every load scenario takes (read by `applyLoadFlags`, plus help and the time limit). */
const LOAD_OPTIONS = {
  clients: { type: 'string' },
  workers: { type: 'string' },
  rates: { type: 'string' },
  steps: { type: 'string' },
  'step-seconds': { type: 'string' },
  'max-fails': { type: 'string' },
  'warmup-seconds': { type: 'string' },
  parse: { type: 'string' },
};

/**
 * A load scenario's flags: the shared ones (`LOAD_OPTIONS`) and its own (`strings` take a value,
 * `booleans` do not); `opts` is `defaults` with the shared flags applied. Null once `--help`
 * printed the usage.
 * @param {string[]} argv
 * @param {{rates: number[]}} defaults
 * @param {string[]} [strings]
 * @param {string[]} [booleans]
 */
function parseLoadCli(argv, defaults, strings = [], booleans = []) {
  const values = parseFlags(argv, strings, booleans, LOAD_OPTIONS);
  if (values === null) return null;
  const opts = { ...defaults, rates: [...defaults.rates] };
  applyLoadFlags(opts, values);
  return { values, opts };
}

async function runFanoutCli(argv) {
  const parsed = parseLoadCli(argv, fanoutDefaults, ['store', 'only', 'rounds', 'server-cpu'], ['cpu-prof']);
  if (parsed === null) return 0;
  const { values, opts } = parsed;
  if (values.rounds) opts.rounds = int(values.rounds, 'rounds');
  if (values.store) {
    if (!['memory', 'sqlite'].includes(values.store)) throw new TypeError('--store must be memory or sqlite');
    opts.store = values.store;
  }
  if (values.only) opts.only = onlyOf(values.only, SYSTEMS);
  checkClientCaps(opts);
  opts.cpuProf = values['cpu-prof'] ?? false;
  const { m, stamp, maxMinutes } = begin(values, 10);
  opts.serverCpu = pinServers(values['server-cpu']);
  console.log(
    `fanout: ${opts.clients} clients over ${opts.workers} loader processes, rates ${opts.rates.join(', ')} msg/s, ` +
      `${opts.stepSeconds} s per step, tether store ${opts.store}` +
      (opts.rounds > 1 ? `, ${opts.rounds} rounds` : ''),
  );
  const out = await timedRun('fanout', { opts, m, stamp, maxMinutes }, () =>
    runFanout({ ...opts, stamp, cores: m.cores }),
  );
  return out.results.some((r) => r.errors.length) ? 1 : 0;
}

async function runClusterCli(argv) {
  const parsed = parseLoadCli(argv, clusterDefaults, ['nodes']);
  if (parsed === null) return 0;
  const { values, opts } = parsed;
  if (values.nodes) opts.nodes = int(values.nodes, 'nodes');
  if (opts.nodes < 2 || opts.nodes > 8) throw new TypeError('--nodes must be 2 to 8');
  if (opts.clients / opts.workers > 15_000) throw new TypeError('at most 15000 clients per loader process (ulimit -n)');
  if (opts.clients > 18_000) throw new TypeError('at most 18000 clients: one node holds them all in the 1-node layout');
  const { m, stamp, maxMinutes } = begin(values, 5);
  console.log(
    `cluster: ${opts.clients} clients over ${opts.workers} loader processes, 1 node then ${opts.nodes} nodes on one ` +
      `private Redis, rates ${opts.rates.join(', ')} msg/s, ${opts.stepSeconds} s per step`,
  );
  const out = await timedRun('cluster', { opts, m, stamp, maxMinutes }, () =>
    runCluster({ ...opts, stamp, cores: m.cores }),
  );
  return out.results.some((r) => r.errors.length) || out.lost > 0 || out.dup > 0 ? 1 : 0;
}

async function runAuthCli(argv) {
  const values = parseFlags(argv, ['requests']);
  if (values === null) return 0;
  const opts = { ...authDefaults };
  if (values.requests) opts.requests = int(values.requests, 'requests');
  const { m, stamp, maxMinutes } = begin(values, 2);
  console.log(`auth: ${opts.requests} sequential polls per case`);
  await timedRun('auth', { opts, m, stamp, maxMinutes }, () => runAuth(opts));
  return 0;
}

async function runFuzzCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      frames: { type: 'string' },
      seconds: { type: 'string' },
      sockets: { type: 'string' },
      'raw-sockets': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const opts = { ...fuzzDefaults };
  if (values.frames) opts.frames = int(values.frames, 'frames');
  if (values.seconds) opts.seconds = int(values.seconds, 'seconds');
  if (values.sockets) opts.sockets = int(values.sockets, 'sockets');
  if (values['raw-sockets']) opts.rawSockets = int(values['raw-sockets'], 'raw-sockets');
  if (values.seed) opts.seed = int(values.seed, 'seed');
  const m = machine();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  console.log(`machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.node}, ${m.memGB} GB`);
  const maxMinutes = Math.ceil(opts.seconds / 60) + 2;
  const out = await timedRun('fuzz', { opts, m, stamp, maxMinutes }, () => runFuzz(opts));
  return out.ok ? 0 : 1;
}

async function runFloodCli(argv) {
  const values = parseFlags(argv, ['rate', 'window-seconds', 'rounds', 'inflight'], []);
  if (values === null) return 0;
  const opts = { ...floodDefaults };
  if (values.rate) opts.rate = int(values.rate, 'rate');
  if (values['window-seconds']) opts.windowSeconds = int(values['window-seconds'], 'window-seconds');
  if (values.inflight) opts.inflight = int(values.inflight, 'inflight');
  if (values.rounds) opts.rounds = int(values.rounds, 'rounds');
  const { m, stamp, maxMinutes } = begin(values, 3);
  console.log(
    `flood: bystander at ${opts.rate} msg/s, ${opts.rounds} rounds of (baseline, flood) windows of ${opts.windowSeconds} s, flooder with ` +
      `${opts.inflight} requests in flight`,
  );
  const out = await timedRun('flood', { opts, m, stamp, maxMinutes }, () => runFlood({ ...opts, cores: m.cores }));
  return out.contained && out.limited ? 0 : 1;
}

/** The default hard stop of `inbox` and `ingress`: a round of every system takes about 3 min, so 6 leaves room. */
const familyMinutes = (rounds) => 4 + 6 * rounds;

async function runInboxCli(argv) {
  const parsed = parseLoadCli(
    argv,
    inboxDefaults,
    ['only', 'ack-timeout-ms', 'rounds', 'server-cpu'],
    ['cpu-prof', 'interleave'],
  );
  if (parsed === null) return 0;
  const { values, opts } = parsed;
  if (values.rounds) opts.rounds = int(values.rounds, 'rounds');
  opts.interleave = values.interleave ?? false;
  opts.only = onlyOf(values.only, INBOX_SYSTEMS);
  opts.cpuProf = values['cpu-prof'] ?? false;
  if (values['ack-timeout-ms']) opts.ackTimeoutMs = int(values['ack-timeout-ms'], 'ack-timeout-ms');
  checkClientCaps(opts);
  const { m, stamp, maxMinutes } = begin(values, familyMinutes(opts.rounds));
  opts.serverCpu = pinServers(values['server-cpu']);
  console.log(
    `inbox: ${opts.clients} users over ${opts.workers} loader processes, rates ${opts.rates.join(', ')} msg/s ` +
      `(each message to one random user), ${opts.stepSeconds} s per step` +
      (opts.rounds > 1 ? `, ${opts.rounds} rounds` : '') +
      (opts.interleave ? ', systems interleaved at every rate' : ''),
  );
  const out = await timedRun('inbox', { opts, m, stamp, maxMinutes }, () =>
    runInbox({ ...opts, stamp, cores: m.cores }),
  );
  return out.results.some((r) => r.errors.length) ? 1 : 0;
}

async function runIngressCli(argv) {
  const parsed = parseLoadCli(
    argv,
    ingressDefaults,
    ['only', 'connections', 'rounds', 'server-cpu'],
    ['cpu-prof', 'interleave'],
  );
  if (parsed === null) return 0;
  const { values, opts } = parsed;
  if (values.rounds) opts.rounds = int(values.rounds, 'rounds');
  opts.interleave = values.interleave ?? false;
  opts.only = onlyOf(values.only, INGRESS_SYSTEMS);
  if (values.connections) opts.connections = int(values.connections, 'connections');
  opts.cpuProf = values['cpu-prof'] ?? false;
  if (opts.clients / opts.workers > 15_000) throw new TypeError('at most 15000 clients per loader process (ulimit -n)');
  const { m, stamp, maxMinutes } = begin(values, familyMinutes(opts.rounds));
  opts.serverCpu = pinServers(values['server-cpu']);
  console.log(
    `ingress: ${opts.clients} users over ${opts.workers} loader processes, ${opts.connections} HTTP publishers, ` +
      `rates ${opts.rates.join(', ')} publishes/s (each to one random user), ${opts.stepSeconds} s per step` +
      (opts.rounds > 1 ? `, ${opts.rounds} rounds` : '') +
      (opts.interleave ? ', systems interleaved at every rate' : ''),
  );
  const out = await timedRun('ingress', { opts, m, stamp, maxMinutes }, () =>
    runIngress({ ...opts, stamp, cores: m.cores }),
  );
  return out.results.some((r) => r.errors.length) ? 1 : 0;
}

/** `--only a,b`: the systems named, checked against `systems`; null when not given. */
function onlyOf(value, systems) {
  if (!value) return null;
  const only = value.split(',').map((x) => x.trim());
  const unknown = only.filter((x) => !(x in systems));
  if (unknown.length) throw new TypeError(`--only: unknown system ${unknown.join(', ')}`);
  return only;
}

async function runStormCli(argv) {
  const values = parseFlags(
    argv,
    [
      'clients',
      'workers',
      'inbox-rate',
      'room-rate',
      'warm-seconds',
      'storm-seconds',
      'connect-timeout-ms',
      'unreachable-max-delay-ms',
      'server-options',
    ],
    ['cpu-prof'],
  );
  if (values === null) return 0;
  const opts = { ...stormDefaults };
  if (values.clients) opts.clients = int(values.clients, 'clients');
  if (values.workers) opts.workers = int(values.workers, 'workers');
  if (values['inbox-rate']) opts.inboxRate = int(values['inbox-rate'], 'inbox-rate');
  if (values['room-rate']) {
    opts.roomRate = Number(values['room-rate']);
    if (!(opts.roomRate >= 0 && opts.roomRate <= 100)) throw new TypeError('--room-rate must be 0 to 100');
  }
  if (values['warm-seconds']) opts.warmSeconds = int(values['warm-seconds'], 'warm-seconds');
  if (values['storm-seconds']) opts.stormSeconds = int(values['storm-seconds'], 'storm-seconds');
  if (values['connect-timeout-ms']) opts.connectTimeoutMs = int(values['connect-timeout-ms'], 'connect-timeout-ms');
  if (values['unreachable-max-delay-ms'])
    opts.unreachableMaxDelayMs = int(values['unreachable-max-delay-ms'], 'unreachable-max-delay-ms');
  if (values['server-options']) opts.serverOptions = JSON.parse(values['server-options']);
  opts.cpuProf = values['cpu-prof'] ?? false;
  checkClientCaps(opts);
  const { m, stamp, maxMinutes } = begin(values, 6);
  console.log(
    `storm: ${opts.clients} clients over ${opts.workers} loader processes, ${opts.inboxRate} inbox msg/s + ` +
      `${opts.roomRate} msg/s on room:all over HTTP, kill -9 after ${opts.warmSeconds} s`,
  );
  const out = await timedRun('storm', { opts, m, stamp, maxMinutes }, () => runStorm({ ...opts, stamp }));
  const met = out.allCaughtUpMs !== null && out.allCaughtUpMs < 20_000 && (out.probesStorm.p99 ?? Infinity) < 1000;
  return met && out.lost === 0 && out.dupOffsets === 0 && out.resyncs === 0 ? 0 : 1;
}

async function runIdleCli(argv) {
  const values = parseFlags(
    argv,
    ['clients', 'workers', 'settle-seconds', 'only'],
    ['heap-snapshot', 'deflate', 'stats', 'halves'],
  );
  if (values === null) return 0;
  const opts = { ...idleDefaults, only: null };
  if (values.clients) opts.clients = int(values.clients, 'clients');
  if (values.workers) opts.workers = int(values.workers, 'workers');
  if (values['settle-seconds']) opts.settleSeconds = int(values['settle-seconds'], 'settle-seconds');
  if (values['heap-snapshot']) opts.heapSnapshot = true;
  if (values.deflate) opts.deflate = true;
  if (values.stats) opts.stats = true;
  if (values.halves) opts.halves = true;
  opts.only = onlyOf(values.only, IDLE_SYSTEMS);
  checkClientCaps(opts);
  const { m, stamp, maxMinutes } = begin(values, 5);
  console.log(`idle: ${opts.clients} users over ${opts.workers} loader processes, ${opts.settleSeconds} s idle`);
  const out = await timedRun('idle', { opts, m, stamp, maxMinutes }, () => runIdle({ ...opts, cores: m.cores }));
  return out.results.some((r) => r.errors.length) ? 1 : 0;
}

async function runDeflateCli(argv) {
  const values = parseFlags(argv, ['clients', 'rate', 'seconds', 'only'], []);
  if (values === null) return 0;
  const opts = { ...deflateDefaults, only: null };
  if (values.clients) opts.clients = int(values.clients, 'clients');
  if (values.rate) opts.rate = int(values.rate, 'rate');
  if (values.seconds) opts.seconds = int(values.seconds, 'seconds');
  opts.only = onlyOf(values.only, DEFLATE_SETTINGS);
  const { m, stamp, maxMinutes } = begin(values, 5);
  const out = await timedRun('deflate', { opts, m, stamp, maxMinutes }, () => runDeflate({ ...opts, cores: m.cores }));
  return out.results.some((r) => r.errors.length) ? 1 : 0;
}

async function runPresenceCli(argv) {
  const values = parseFlags(argv, ['sizes', 'workers', 'join-seconds'], ['cpu-prof']);
  if (values === null) return 0;
  const opts = { ...presenceDefaults, cpuProf: values['cpu-prof'] ?? false };
  if (values.sizes) opts.sizes = values.sizes.split(',').map((s) => int(s.trim(), 'sizes'));
  if (values.workers) opts.workers = int(values.workers, 'workers');
  if (values['join-seconds']) opts.joinSeconds = int(values['join-seconds'], 'join-seconds');
  checkClientCaps({ clients: Math.max(...opts.sizes), workers: opts.workers });
  const { m, stamp, maxMinutes } = begin(values, 5);
  console.log(
    `presence: sizes ${opts.sizes.join(', ')}, clients over ${opts.workers} loader processes, joining over ${opts.joinSeconds} s`,
  );
  const out = await timedRun('presence', { opts, m, stamp, maxMinutes }, () =>
    runPresence({ ...opts, cores: m.cores, stamp }),
  );
  return out.ok ? 0 : 1;
}

async function runMetricsCli(argv) {
  const values = parseFlags(
    argv,
    ['part', 'runs', 'rounds', 'paired-clients', 'clients', 'fanout-rates', 'inbox-rates', 'step-seconds'],
    [],
  );
  if (values === null) return 0;
  const opts = {
    ...metricsDefaults,
    fanout: { ...metricsDefaults.fanout },
    inbox: { ...metricsDefaults.inbox },
    paired: { ...metricsDefaults.paired },
    resultsDir: deflateDefaults.resultsDir,
  };
  if (values.part) {
    if (!METRICS_PARTS.includes(values.part)) throw new TypeError(`--part must be one of ${METRICS_PARTS.join(', ')}`);
    opts.part = values.part;
  }
  if (values.runs) opts.runs = int(values.runs, 'runs');
  if (values.rounds) opts.paired.rounds = int(values.rounds, 'rounds');
  if (values['paired-clients']) opts.paired.clients = int(values['paired-clients'], 'paired-clients');
  if (values.clients) opts.fanout.clients = opts.inbox.clients = int(values.clients, 'clients');
  const rates = (v, name) => v.split(',').map((r) => int(r.trim(), name));
  if (values['fanout-rates']) opts.fanout.rates = rates(values['fanout-rates'], 'fanout-rates');
  if (values['inbox-rates']) opts.inbox.rates = rates(values['inbox-rates'], 'inbox-rates');
  if (values['step-seconds'])
    opts.fanout.stepSeconds =
      opts.inbox.stepSeconds =
      opts.paired.stepSeconds =
        int(values['step-seconds'], 'step-seconds');
  const { m, stamp, maxMinutes } = begin(values, 10);
  const out = await timedRun('metrics', { opts, m, stamp, maxMinutes }, () =>
    runMetrics({ ...opts, stamp, cores: m.cores }),
  );
  const failed =
    [out.fanout, out.inbox].some((part) => part?.runs.some((r) => r.result.errors.length)) ||
    [out['paired-fanout'], out['paired-inbox']].some((part) => part?.errors.length);
  return failed ? 1 : 0;
}

/** Flags every load scenario shares: clients, workers, the rate ladder, step length, give-up rule, parsing. */
function applyLoadFlags(opts, values) {
  if (values.clients) opts.clients = int(values.clients, 'clients');
  if (values.workers) opts.workers = int(values.workers, 'workers');
  if (values.rates) opts.rates = values.rates.split(',').map((r) => int(r.trim(), 'rates'));
  if (values.steps) opts.rates = opts.rates.slice(0, int(values.steps, 'steps'));
  if (values['step-seconds']) opts.stepSeconds = int(values['step-seconds'], 'step-seconds');
  if (values['max-fails']) opts.maxFails = int(values['max-fails'], 'max-fails');
  if (values['warmup-seconds'] !== undefined) opts.warmupSeconds = int(values['warmup-seconds'], 'warmup-seconds', 0);
  if (values.parse) {
    if (!['scan', 'json'].includes(values.parse)) throw new TypeError('--parse must be scan or json');
    opts.parse = values.parse;
  }
}

/** Parses a scenario's flags (`--max-minutes` and `--help` always); null after printing the usage for `--help`. */
function parseFlags(argv, strings = [], booleans = [], base = {}) {
  const own = [...strings.map((n) => [n, { type: 'string' }]), ...booleans.map((n) => [n, { type: 'boolean' }])];
  const options = {
    ...base,
    ...Object.fromEntries(own),
    'max-minutes': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) {
    console.log(USAGE);
    return null;
  }
  return values;
}

/** The file-descriptor limits of this box: clients per loader process and in all. */
function checkClientCaps(opts) {
  if (opts.clients / opts.workers > 15_000) throw new TypeError('at most 15000 clients per loader process (ulimit -n)');
  if (opts.clients > 18_000) throw new TypeError('at most 18000 clients: the server process has ulimit -n 20000');
}

/** The servers' CPU for a paired run (lib/cpu-pin.js), printed; kept in the result file's config. */
function pinServers(flag) {
  const chosen = chooseServerCpu(flag);
  console.log(chosen.note);
  return { cpu: chosen.cpu, spinMs: chosen.spinMs };
}

/** Starts a run: the machine (printed), the result file's time stamp, the hard time limit. */
function begin(values, defaultMinutes) {
  const maxMinutes = values['max-minutes'] ? int(values['max-minutes'], 'max-minutes') : defaultMinutes;
  const m = machine();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  console.log(`machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.node}, ${m.memGB} GB`);
  return { m, stamp, maxMinutes };
}

/** Runs a scenario under a hard time limit and writes its result file. */
async function timedRun(scenario, { opts, m, stamp, maxMinutes }, run) {
  const deadline = setTimeout(() => {
    console.error(`bench: ${maxMinutes} min limit reached, stopping`);
    process.exit(3);
  }, maxMinutes * 60_000);
  deadline.unref();
  const started = Date.now();
  const out = await run();
  mkdirSync(opts.resultsDir, { recursive: true });
  const file = `${opts.resultsDir}${scenario}-${stamp}.json`;
  const config = { ...opts };
  delete config.resultsDir;
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(
    file,
    JSON.stringify({ scenario, date: new Date().toISOString(), machine: m, config, seconds, ...out }, null, 2),
  );
  console.log(`\n${seconds.toFixed(0)} s; result written to ${file}`);
  return out;
}

const [name, ...rest] = process.argv.slice(2);
const run = name === undefined ? undefined : scenarios[name];
if (run === undefined) {
  console.error(name ? `unknown scenario "${name}"\n` : '');
  console.error(USAGE);
  process.exit(2);
}
try {
  process.exitCode = await run(rest);
} catch (err) {
  console.error(err instanceof TypeError ? `${err.message}\n\n${USAGE}` : err);
  process.exitCode = 1;
}
// Children are stopped by then; exit even if a stray handle is left.
setTimeout(() => process.exit(), 200).unref();
