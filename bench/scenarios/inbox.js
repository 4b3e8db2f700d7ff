/**
 * Scenario `inbox`: C connected users, each its own user with its own token; the server publishes
 * at stepped rates, each message to ONE user picked at random (its inbox `user:bench-<n>`), and that
 * user's client must receive it once. Four systems, each in its own server process, in one run:
 * plain Socket.IO (a room per user), the hand-rolled "reliable" design (`emitWithAck` + 2 retries,
 * stores nothing), Tether with the memory store, Tether with the SQLite store.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { machineBusy, machineCpu } from '../lib/stats.js';
import { fmtInt, fmtMs, fmtPct, fmtRatio, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';
import { completeness, cpuPct, finishRow, loaderCpu, measureStep, publisherLag, sumReports } from '../lib/step.js';
import * as ladder from '../lib/ladder.js';
import { errorsText, keptUpText, printContendedNote, printStepLine, stepRows } from '../lib/report.js';
import { profArgs } from '../lib/prof.js';
import { medianTargets, runRounds, runEachRound } from '../lib/rounds.js';
import { runInterleaved } from '../lib/interleave.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const inboxDefaults = {
  clients: 5000,
  workers: 4,
  /** Messages per second, each to one random user; delivered = rate (not × clients). */
  rates: [1000, 2000, 4000, 6000, 8000, 12000, 16000, 24000, 32000, 40000, 48000],
  stepSeconds: 5,
  maxFails: 2,
  drainSeconds: 10,
  only: null,
  /** V8 CPU profiles of the servers (`--cpu-prof`). */
  cpuProf: false,
  p99LimitMs: 400,
  minDeliveredShare: 0.9,
  connectConcurrency: 50,
  /** Shorter than fanout's 30 s: four systems run one after the other. */
  quietWaitSeconds: 10,
  quietBelowPct: 25,
  /** Runs of every system, taking turns (ABBA); the goals' ratios are then the medians over the rounds. */
  rounds: 1,
  /** Every system set up first, then turns at every rate (lib/interleave.js), instead of one ladder after the other. */
  interleave: false,
  /** The hand-rolled design's `socket.timeout(ms)` before a retry. */
  ackTimeoutMs: 2000,
  parse: 'scan',
  resultsDir: here('../results/'),
};

const SOCKETIO = here('../servers/socketio-server.js');
const TETHER = here('../servers/tether-server.js');

/** Systems by name, in the order they run; `ratioTo` names the baseline of the issue's target. */
export const INBOX_SYSTEMS = {
  plain: { label: 'plain Socket.IO, room per user', script: SOCKETIO, store: null, env: { BENCH_MODE: 'inbox' } },
  emitwithack: {
    label: 'hand-rolled emitWithAck + 2 retries',
    script: SOCKETIO,
    store: null,
    env: { BENCH_MODE: 'ack' },
  },
  'tether-memory': { label: 'tether, memory store', script: TETHER, store: 'memory', env: { BENCH_MODE: 'inbox' } },
  'tether-sqlite': { label: 'tether, SQLite store', script: TETHER, store: 'sqlite', env: { BENCH_MODE: 'inbox' } },
};

/** The issue's targets: Tether memory ≥ 0.8× plain, Tether SQLite ≥ 1.0× emitWithAck. */
const TARGETS = [
  { system: 'tether-memory', baseline: 'plain', goal: 0.8 },
  { system: 'tether-sqlite', baseline: 'emitwithack', goal: 1.0 },
];

/**
 * Readings of the server, the loaders and (scenario `ingress`) the HTTP load process.
 * @param {Child} server
 * @param {Child[]} workers
 * @param {Child | null} load
 */
async function snapshot(server, workers, load) {
  const [s, w, l] = await Promise.all([
    server.call('stats'),
    Promise.all(workers.map((x) => x.call('usage'))),
    load ? load.call('usage') : null,
  ]);
  return { server: s, workers: w, load: l, machine: machineCpu() };
}

function stepRow(system, { rate, pub, before, after, reports, drainMs, drained }, opts) {
  const loaders = loaderCpu(before.workers, after.workers);
  const loadCpuPct = cpuPct(before.load, after.load);
  const box = machineBusy(before.machine, after.machine, opts.cores);
  const tether = (k) => (drained.tether && before.server.tether ? drained.tether[k] - before.server.tether[k] : null);
  const ack = (k) => (drained.ack && before.server.ack ? drained.ack[k] - before.server.ack[k] : null);
  const serverCpuPct = cpuPct(before.server, after.server);
  const row = {
    system,
    rate,
    // One message reaches one client: the target is the rate itself.
    ...measureStep(rate, 1, pub, reports),
    expectedDeliveries: pub.published,
    uniqueReceived: sumReports(reports, 'unique'),
    ...completeness(reports),
    usersWithGaps: pub.inbox.usersWithGaps,
    drainMs,
    redelivered: tether('redelivered'),
    resyncs: tether('resyncs'),
    ackRetries: ack('retries'),
    ackGivenUp: ack('givenUp'),
    serverCpuPct,
    // Server CPU per accepted publish (µs): what one message costs the server, delivery included.
    serverCpuUsPerMsg: pub.published > 0 ? ((after.server.cpuMs - before.server.cpuMs) * 1000) / pub.published : null,
    serverRss: after.server.rss,
    loadCpuPct,
    loaderCpuPct: loaders.sum,
    loaderMaxWorkerPct: loaders.max,
    machineCpuPct: box.busy,
    irqCpuPct: box.irq,
    ...publisherLag(pub),
    // Scenario `ingress`: the HTTP answers' latency; with one request in flight per connection it
    // bounds the rate the load can offer (connections / latency).
    ...(pub.http ? { httpLatencyMs: pub.http.latencyMs } : {}),
  };
  return finishRow(row, box, [serverCpuPct, loaders.sum, loadCpuPct ?? 0], reports, opts);
}

/**
 * How a scenario of the inbox family differs from `inbox` (scenario `ingress`: publishes over HTTP
 * from a separate load process).
 * @typedef {{env?: NodeJS.ProcessEnv, publisher?: (port: number) => Promise<Child>, execArgv?: string[]}} InboxVariant
 *   `env`: more server environment; `publisher`: starts the process that runs the steps against
 *   the server's port (default: the server publishes in-process); `execArgv`: the server's Node flags
 */

/**
 * One system of the inbox family: its server process, the loaders with one inbox user per client,
 * the rate ladder, the end figures.
 * @param {string} name
 * @param {{label: string, script: string, store: string | null, env: NodeJS.ProcessEnv}} sys
 * @param {typeof inboxDefaults & {cores: number}} opts
 * @param {InboxVariant} [variant]
 */
export function runInboxSystem(name, sys, opts, variant = {}) {
  return runWhole(inboxSystem(name, sys, opts, variant), opts);
}

/**
 * A system's whole ladder, start to end, its processes stopped whatever happened.
 * @param {ReturnType<typeof inboxSystem>} system
 * @param {Parameters<typeof ladder.runLadder>[1]} opts
 */
function runWhole(system, opts) {
  return ladder.guardedRun(system.result, system.name, system.stop, async () => {
    await ladder.runLadder(await system.open(), opts);
    await system.finish();
  });
}

/**
 * A system of the inbox family in three parts, so that a run can take turns between systems
 * (lib/interleave.js): `open()` starts the server, the HTTP load (ingress) and the loaders,
 * connects the users and answers the ladder's arguments; `finish()` recounts and reads the end
 * figures; `stop()` stops every process it started, whatever happened.
 * @param {string} name
 * @param {{label: string, script: string, store: string | null, env: NodeJS.ProcessEnv}} sys
 * @param {typeof inboxDefaults & {cores: number}} opts
 * @param {InboxVariant} [variant]
 */
export function inboxSystem(name, sys, opts, variant = {}) {
  const result = { system: name, label: sys.label, store: sys.store, steps: [], errors: [] };
  /** @type {Child[]} */
  const workers = [];
  /** @type {Child[]} */
  const servers = [];
  /** @type {(() => ReturnType<typeof snapshot>) | undefined} readings of every process, once `open()` started them */
  let readAll;

  async function open() {
    const secret = randomBytes(24).toString('hex');
    result.backgroundCpuPct = await ladder.quietBox(opts);
    const server = new Child(sys.script, {
      name: `${name}-server`,
      execArgv: ['--expose-gc', ...(variant.execArgv ?? [])],
      env: {
        ...ladder.serverEnv(secret, sys.store ?? 'memory', 'bench:inbox'),
        ...sys.env,
        ...variant.env,
        BENCH_USERS: String(opts.clients),
        BENCH_ACK_TIMEOUT_MS: String(opts.ackTimeoutMs),
      },
    });
    servers.push(server);
    const ready = await server.waitFor('ready', 30_000);
    console.log(
      `\n${sys.label}: server pid ${server.pid} on 127.0.0.1:${ready.port}${ready.store ? ` (store ${ready.store})` : ''}`,
    );
    const load = variant.publisher ? await variant.publisher(ready.port) : null;
    if (load) servers.push(load);
    for (let i = 0; i < opts.workers; i++)
      workers.push(new Child(here('../workers/loader.js'), { name: `loader-${i}` }));
    const rssBefore = (await server.call('gc')).rss;
    const per = Math.ceil(opts.clients / opts.workers);
    const t0 = performance.now();
    const starts = workers.map((_, i) => i * per);
    const conn = await Promise.all(
      workers.map((w, i) =>
        ladder.connectClients(
          w,
          {
            url: socketUrl('127.0.0.1', ready.port),
            channel: 'bench:inbox',
            secret,
            startIndex: starts[i],
            count: Math.max(0, Math.min(per, opts.clients - starts[i])),
            inbox: true,
          },
          opts,
        ),
      ),
    );
    const connected = conn.reduce((a, c) => a + c.connected, 0);
    result.connect = ladder.connectResult(connected, conn, t0);
    console.log(
      `  ${connected} users connected in ${result.connect.seconds.toFixed(1)} s` +
        (result.connect.failed ? `, ${result.connect.failed} failed: ${result.connect.errors.join(' | ')}` : ''),
    );
    if (connected === 0) throw new Error(`no client could connect: ${result.connect.errors.join(' | ')}`);
    await sleep(1000);
    const rssAfter = (await server.call('gc')).rss;
    result.rss = { before: rssBefore, after: rssAfter, perConnection: (rssAfter - rssBefore) / connected };
    const readings = () => snapshot(server, workers, load);
    readAll = readings;
    return {
      workers,
      publisher: load ?? server,
      snapshot: readings,
      drained: () => server.call('stats'),
      // Each loader learns which of its users' offsets the step published.
      afterPublish: (/** @type {import('../lib/step.js').StepPublish} */ pub, /** @type {number} */ i) =>
        Promise.all(
          workers.map((w, k) =>
            w.call('expect', {
              step: i,
              start: starts[k],
              first: pub.inbox.first.slice(starts[k], starts[k] + per),
              last: pub.inbox.last.slice(starts[k], starts[k] + per),
            }),
          ),
        ),
      row: (/** @type {any} */ d) => stepRow(name, d, opts),
      print: (/** @type {any} */ r) =>
        printStepLine(
          name.padEnd(13),
          r,
          `srv ${fmtPct(r.serverCpuPct)} (${fmtInt(r.serverCpuUsPerMsg)} µs/msg) ldr ${fmtPct(r.loaderCpuPct)}` +
            (load ? ` http ${fmtPct(r.loadCpuPct)}` : '') +
            (r.httpLatencyMs ? ` answer p50/p99 ${r.httpLatencyMs.p50}/${r.httpLatencyMs.p99} ms` : '') +
            (r.ackRetries !== null ? ` retries ${r.ackRetries} gaveUp ${r.ackGivenUp}` : ''),
        ),
      result,
    };
  }

  async function finish() {
    if (!readAll) return;
    const end = await ladder.finishLadder(workers, result, readAll, { dupsSeen: true });
    result.server = { rssEnd: end.server.rss, tether: end.server.tether ?? null, ack: end.server.ack ?? null };
  }

  return { name, result, open, finish, stop: () => ladder.stopProcesses(workers, servers) };
}

function summaryTable(results) {
  const rows = stepRows(results, (r, s, c) => [
    r.system,
    fmtInt(s.rate),
    c.delivered,
    c.share,
    `${fmtMs(s.p50)} / ${fmtMs(s.p99)}`,
    c.lost,
    c.dup,
    s.redelivered ?? (s.ackRetries !== null ? `${s.ackRetries} retries` : '-'),
    fmtPct(s.serverCpuPct),
    s.serverCpuUsPerMsg === null ? '-' : fmtInt(s.serverCpuUsPerMsg),
    fmtPct(s.loaderCpuPct),
    c.box,
    c.keptUp,
  ]);
  return table(
    [
      'system',
      'rate/s',
      'delivered msg/s',
      '%',
      'p50 / p99 ms',
      'lost',
      'dup',
      'redeliv',
      'server CPU',
      'µs CPU/msg',
      'loader CPU',
      'box CPU (other)',
      'kept up',
    ],
    rows,
  );
}

function keptUpTable(results, baseline) {
  const plain = results.find((r) => r.system === baseline)?.keptUp;
  const rows = results.map((r) => {
    const k = r.keptUp;
    return [
      r.label,
      k ? fmtInt(k.delivered) : 'none',
      k ? `${k.rate}/s` : '-',
      k && plain ? `${(k.delivered / plain.delivered).toFixed(2)}×` : '-',
      k ? `${fmtMs(k.p50)} / ${fmtMs(k.p99)}` : '-',
      k?.serverCpuUsPerMsg ? fmtInt(k.serverCpuUsPerMsg) : '-',
      r.steps.reduce((a, s) => a + (s.lostFinal ?? s.lostAtDrain), 0),
      r.steps.reduce((a, s) => a + (s.dupOffsetsFinal ?? s.dupOffsets), 0),
    ];
  });
  return table(
    [
      'system',
      'kept up msg/s',
      'at rate',
      `vs ${baseline}`,
      'p50 / p99 ms there',
      'µs CPU/msg there',
      'lost (all steps)',
      'dup (all steps)',
    ],
    rows,
  );
}

/**
 * The closing tables of a scenario of the inbox family, and its targets (each a ratio of kept-up
 * msg/s within this run).
 * @param {string} title
 * @param {Array<{system: string, keptUp: any, steps: any[], errors: string[]}>} results
 * @param {string} baseline the system the `vs` column divides by
 * @param {Array<{system: string, baseline: string, goal: number}>} goals
 */
export function reportInboxFamily(title, results, baseline, goals) {
  console.log(`\n${title}`);
  console.log(summaryTable(results));
  printContendedNote(results);
  console.log('');
  console.log(keptUpTable(results, baseline));
  for (const r of results) console.log(`${r.system}: ${keptUpText(r.keptUp)}${errorsText(r.errors)}`);
  const targets = [];
  for (const t of goals) {
    const a = results.find((r) => r.system === t.system)?.keptUp;
    const b = results.find((r) => r.system === t.baseline)?.keptUp;
    if (!a || !b) continue;
    const ratio = a.delivered / b.delivered;
    targets.push({ ...t, ratio, met: ratio >= t.goal });
    console.log(
      `${t.system} / ${t.baseline}: ${ratio.toFixed(2)}× (goal ≥ ${t.goal}×: ${ratio >= t.goal ? 'met' : 'not met'})`,
    );
  }
  return { results, targets };
}

/**
 * Runs every system of a scenario of the inbox family once per round and reports each round; with
 * more than one round the systems take turns in ABBA order, and each goal's ratio is the median of
 * the rounds' (lib/rounds.js): the cost of one message moves between runs minutes apart by more
 * than the goals' margins, for every system alike (the session 12 section of bench/README.md).
 * With `opts.interleave` a round runs the systems rung by rung (lib/interleave.js) instead of one
 * whole ladder after the other.
 * @param {string} title
 * @param {{rounds: number, interleave?: boolean} & Parameters<typeof ladder.runLadder>[1]} opts
 * @param {string[]} names the systems, in the order they run
 * @param {(name: string) => ReturnType<typeof inboxSystem>} systemOf a fresh system (each round has its own)
 * @param {string} baseline the system the `vs` column divides by
 * @param {Array<{system: string, baseline: string, goal: number}>} goals
 */
export async function runFamilyRounds(title, opts, names, systemOf, baseline, goals) {
  const report = (/** @type {any[]} */ results) => reportInboxFamily(title, results, baseline, goals);
  const rounds = opts.interleave
    ? await runEachRound(opts.rounds, names, (order) => runInterleaved(order.map(systemOf), opts), report)
    : await runRounds(opts.rounds, names, (name) => runWhole(systemOf(name), opts), report);
  if (rounds.length === 1) return rounds[0];
  const targets = medianTargets(
    goals,
    rounds.map((r) => r.targets),
    rounds.map((r) => new Set(r.results.filter((x) => x.keptUp).map((x) => x.system))),
  );
  console.log(`\nover ${rounds.length} rounds (median of the rounds' ratios):`);
  for (const t of targets) {
    const per = t.ratios.map(fmtRatio).join(', ');
    console.log(
      `  ${t.system} / ${t.baseline}: ${fmtRatio(t.ratio)} (${per}) (goal ≥ ${t.goal}×: ${t.met ? 'met' : 'not met'})`,
    );
  }
  return { results: rounds.flatMap((r) => r.results), rounds, targets };
}

/** @param {typeof inboxDefaults & {stamp: string, cores: number, only: string[] | null, interleave?: boolean}} opts */
export function runInbox(opts) {
  const title = `inbox: ${opts.clients} users, one message to one random user, ${opts.stepSeconds} s steps, loopback`;
  return runFamilyRounds(
    title,
    opts,
    opts.only ?? Object.keys(INBOX_SYSTEMS),
    (name) => inboxSystem(name, INBOX_SYSTEMS[name], opts, { execArgv: profArgs(opts, `inbox-${name}`) }),
    'plain',
    TARGETS,
  );
}
