/**
 * Scenario `fanout`: C light clients subscribe to one channel; the server publishes at stepped rates
 * and every client must receive every message once. Runs Tether and, as the baseline, plain
 * Socket.IO broadcasting the same frames to the same clients, each in its own server process.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { machineBusy, machineCpu } from '../lib/stats.js';
import { fmtKB, fmtMs, fmtPct, fmtRatio, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';
import {
  completeness,
  cpuPct,
  finishRow,
  loaderCpu,
  measureStep,
  publisherLag,
  wireDuplicates,
  wireDupsOf,
  sumReports,
} from '../lib/step.js';
import * as ladder from '../lib/ladder.js';
import { latencyByRate, medianRatios, runRounds } from '../lib/rounds.js';
import { errorsText, keptUpText, printContendedNote, printStepLine, stepRows } from '../lib/report.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const fanoutDefaults = {
  clients: 5000,
  workers: 4,
  /** Messages per second published to the channel; delivered = rate × clients. */
  rates: [5, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280],
  stepSeconds: 5,
  /**
   * A warm-up step at the first rate before the measured ones, for every system (lib/ladder.js):
   * the ladder measures the steady state, not the first broadcasts after thousands of connects.
   */
  warmupSeconds: 5,
  /** Runs of every system, taking turns in ABBA order; ratios are then the median over the rounds. */
  rounds: 1,
  /** Stop the ladder after this many failed steps in a row. */
  maxFails: 2,
  /** Longest wait after a step for every client to have every offset. */
  drainSeconds: 10,
  store: 'memory',
  only: null,
  /** p99 limit (ms) and delivered share for "kept up". */
  p99LimitMs: 400,
  minDeliveredShare: 0.9,
  connectConcurrency: 50,
  /** Before each system, wait up to this long for the box to be busy less than `quietBelowPct`. */
  quietWaitSeconds: 30,
  quietBelowPct: 25,
  cpuProf: false,
  /** How loaders read `msg` frames: `scan` (bytes, sample-checked against JSON) or `json`. */
  parse: 'scan',
  resultsDir: here('../results/'),
};

const CHANNEL = 'bench:fanout';

/** Systems by name; `socketio-batched` is opt-in (`--only`): plain Socket.IO with Tether's per-turn batching. */
export const SYSTEMS = {
  socketio: { label: 'socket.io', script: here('../servers/socketio-server.js'), env: {} },
  tether: { label: 'tether', script: here('../servers/tether-server.js'), env: {} },
  // Scenario `metrics`: the same server with the Prometheus metrics off, and on (the default).
  'tether-metrics-off': {
    label: 'tether, metrics off',
    script: here('../servers/tether-server.js'),
    env: { BENCH_SERVER_OPTIONS: JSON.stringify({ metrics: { enabled: false } }) },
  },
  'tether-metrics-on': {
    label: 'tether, metrics on',
    script: here('../servers/tether-server.js'),
    env: { BENCH_SERVER_OPTIONS: JSON.stringify({ metrics: { enabled: true } }) },
  },
  'socketio-batched': {
    label: 'socket.io, one frame per event-loop turn',
    script: here('../servers/socketio-server.js'),
    env: { BENCH_BATCH: '1' },
  },
};
export const DEFAULT_SYSTEMS = ['socketio', 'tether'];

/**
 * Readings of the server and every loader, around a publish window.
 * @param {Child} server
 * @param {Child[]} workers
 */
async function snapshot(server, workers) {
  const [s, w] = await Promise.all([server.call('stats'), Promise.all(workers.map((x) => x.call('usage')))]);
  return { server: s, workers: w, machine: machineCpu() };
}

/**
 * One step's result row: the shared figures (lib/step.js), plus the server's own CPU and RSS and
 * Tether's `stats()` deltas once the step has drained (plain Socket.IO has none: null).
 * @param {string} system
 * @param {number} clients
 * @param {import('../lib/ladder.js').StepData<Awaited<ReturnType<typeof snapshot>>, any>} d
 * @param {typeof fanoutDefaults & {cores: number}} opts
 */
function stepRow(system, clients, { rate, pub, before, after, reports, drainMs, drained }, opts) {
  const loaders = loaderCpu(before.workers, after.workers);
  const box = machineBusy(before.machine, after.machine, opts.cores);
  const delta = (k) => (drained.tether && before.server.tether ? drained.tether[k] - before.server.tether[k] : null);
  const serverCpuPct = cpuPct(before.server, after.server);
  const row = {
    system,
    rate,
    ...measureStep(rate, clients, pub, reports),
    expectedDeliveries: (pub.last - pub.first + 1) * clients,
    uniqueReceived: sumReports(reports, 'unique'),
    ...completeness(reports),
    ...wireDuplicates(reports),
    drainMs,
    redelivered: delta('redelivered'),
    resyncs: delta('resyncs'),
    missed: delta('missed'),
    serverCpuPct,
    serverRss: after.server.rss,
    loaderCpuPct: loaders.sum,
    loaderMaxWorkerPct: loaders.max,
    machineCpuPct: box.busy,
    irqCpuPct: box.irq,
    ...publisherLag(pub),
  };
  return finishRow(row, box, [serverCpuPct, loaders.sum], reports, opts);
}

function printStep(r) {
  printStepLine(r.system.padEnd(9), r, `srv ${fmtPct(r.serverCpuPct)} ldr ${fmtPct(r.loaderCpuPct)}`);
  if (r.redelivered !== null || r.wireDups > 0) {
    console.log(
      `            redelivered ${r.redelivered ?? '-'}  wire dup ${r.wireDups} (to acking clients ${r.wireDupsAcking}, ` +
        `app ${r.appDups})  missed ${r.missed ?? '-'}`,
    );
  }
}

/**
 * Node flags for a child's V8 CPU profile (`--cpu-prof`), written to results/prof/ as `file`.
 * @param {{cpuProf: boolean, resultsDir: string}} opts
 * @param {string} file
 */
const profArgs = (opts, file) =>
  opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', `${opts.resultsDir}prof`, '--cpu-prof-name', file] : [];

export async function runSystem(name, opts) {
  const sys = SYSTEMS[name];
  const secret = randomBytes(24).toString('hex');
  const execArgv = ['--expose-gc', ...profArgs(opts, `${name}-${opts.stamp}.cpuprofile`)];
  const result = { system: name, store: name.startsWith('tether') ? opts.store : null, steps: [], errors: [] };
  result.backgroundCpuPct = await ladder.quietBox(opts);
  const server = new Child(sys.script, {
    name: `${name}-server`,
    execArgv,
    env: { ...ladder.serverEnv(secret, opts.store, CHANNEL), ...sys.env },
  });
  /** @type {Child[]} */
  const workers = [];
  const stop = () => ladder.stopProcesses(workers, [server]);
  return ladder.guardedRun(result, name, stop, async () => {
    const ready = await server.waitFor('ready', 30_000);
    result.serverPid = server.pid;
    console.log(
      `\n${sys.label}: server pid ${server.pid} on 127.0.0.1:${ready.port}${ready.store ? ` (store ${ready.store})` : ''}; ` +
        `box busy before start ${fmtPct(result.backgroundCpuPct)}`,
    );
    for (let i = 0; i < opts.workers; i++)
      workers.push(
        new Child(here('../workers/loader.js'), {
          name: `loader-${i}`,
          execArgv: profArgs(opts, `loader-${i}-${name}-${opts.stamp}.cpuprofile`),
        }),
      );
    const rssBefore = (await server.call('gc')).rss;

    const per = Math.ceil(opts.clients / opts.workers);
    const t0 = performance.now();
    const conn = await Promise.all(
      workers.map((w, i) =>
        ladder.connectClients(
          w,
          {
            url: socketUrl('127.0.0.1', ready.port),
            channel: CHANNEL,
            secret,
            startIndex: i * per,
            count: Math.max(0, Math.min(per, opts.clients - i * per)),
          },
          opts,
        ),
      ),
    );
    const connected = conn.reduce((a, c) => a + c.connected, 0);
    result.connect = ladder.connectResult(connected, conn, t0);
    const failed = result.connect.failed;
    console.log(
      `  ${connected} clients connected and subscribed in ${result.connect.seconds.toFixed(1)} s over ${opts.workers} loader processes` +
        (failed ? `, ${failed} failed: ${result.connect.errors.join(' | ')}` : ''),
    );
    if (connected === 0) throw new Error(`no client could connect: ${result.connect.errors.join(' | ')}`);
    await sleep(1000);
    const rssAfter = (await server.call('gc')).rss;
    result.rss = { before: rssBefore, after: rssAfter, perConnection: (rssAfter - rssBefore) / connected };
    console.log(
      `  server RSS ${fmtKB(rssBefore)} → ${fmtKB(rssAfter)}: ${fmtKB(result.rss.perConnection)} per connection`,
    );

    await ladder.runLadder(
      {
        workers,
        publisher: server,
        snapshot: () => snapshot(server, workers),
        drained: () => server.call('stats'),
        row: (d) => stepRow(name, connected, d, opts),
        print: printStep,
        result,
      },
      opts,
    );
    const end = await ladder.finishLadder(workers, result, () => snapshot(server, workers), { dupsSeen: true });
    result.server = {
      rssEnd: end.server.rss,
      tether: end.server.tether ?? null,
      connections: end.server.connections ?? null,
    };
  });
}

function summaryTable(results) {
  const rows = stepRows(results, (r, s, c) => [
    r.system,
    s.rate,
    c.target,
    c.delivered,
    c.share,
    fmtMs(s.p50),
    fmtMs(s.p95),
    fmtMs(s.p99),
    c.lost,
    c.dup,
    s.redelivered ?? '-',
    wireDupsOf(s).wire,
    wireDupsOf(s).acking,
    s.missed ?? '-',
    s.resyncs ?? '-',
    fmtPct(s.serverCpuPct),
    `${fmtPct(s.loaderCpuPct)} (${fmtPct(s.loaderMaxWorkerPct)})`,
    c.box,
    c.msgsPerFrame,
    c.keptUp,
  ]);
  return table(
    [
      'system',
      'rate/s',
      'target msg/s',
      'delivered msg/s',
      '%',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'lost',
      'dup',
      'redeliv',
      'wire dup',
      'to acking',
      'missed',
      'resync',
      'server CPU',
      'loader CPU (max proc)',
      'box CPU (other)',
      'msg/frame',
      'kept up',
    ],
    rows,
  );
}

export function compare(tether, plain) {
  if (!tether?.keptUp || !plain?.keptUp) return null;
  const out = {
    deliveredRatio: tether.keptUp.delivered / plain.keptUp.delivered,
    tetherKeptUp: { rate: tether.keptUp.rate, delivered: tether.keptUp.delivered },
    socketioKeptUp: { rate: plain.keptUp.rate, delivered: plain.keptUp.delivered },
  };
  // Latency compared at the highest rate both kept up with.
  const at = ladder.lastCommonKeptUp(tether, plain);
  const p = at && plain.steps.find((x) => x.rate === at.rate);
  if (at && p) {
    out.latencyAtRate = at.rate;
    out.p50Ratio = p.p50 ? at.p50 / p.p50 : null;
    out.p99Ratio = p.p99 ? at.p99 / p.p99 : null;
    out.tetherLatency = { p50: at.p50, p95: at.p95, p99: at.p99 };
    out.socketioLatency = { p50: p.p50, p95: p.p95, p99: p.p99 };
  }
  // Every rate both kept up with, for the medians over rounds (lib/rounds.js).
  out.latencyByRate = latencyByRate(tether, plain);
  return out;
}

/**
 * Runs every system once per round and reports each round; with `opts.rounds` > 1 the systems take
 * turns in ABBA order (plain, Tether, Tether, plain, …), so a box that grows busier over the run
 * weighs on both alike, and the ratios are given per round and as the median over the rounds.
 * @param {typeof fanoutDefaults & {stamp: string, cores: number}} opts
 */
export async function runFanout(opts) {
  const rounds = await runRounds(
    opts.rounds,
    opts.only ?? DEFAULT_SYSTEMS,
    (name) => runSystem(name, opts),
    (results) => reportRound(results, opts),
  );
  if (rounds.length === 1) return rounds[0];
  const median = medianRatios(rounds.map((r) => r.ratio));
  const compared = median.roundsCompared < rounds.length ? `, ${median.roundsCompared} of them compared` : '';
  console.log(`\nover ${rounds.length} rounds${compared}, tether / socket.io (median of the rounds' ratios):`);
  console.log(
    `  kept-up delivered ${fmtRatio(median.deliveredRatio)} (${rounds.map((r) => fmtRatio(r.ratio?.deliveredRatio)).join(', ')})`,
  );
  for (const [rate, m] of Object.entries(median.latency)) {
    console.log(
      `  at ${rate}/s (both kept up): p50 ${fmtRatio(m.p50Ratio)}, p99 ${fmtRatio(m.p99Ratio)} ` +
        `(p50 per round: ${m.rounds.map((x) => `${x.tether} / ${x.socketio} ms`).join(', ')})`,
    );
  }
  return { results: rounds.flatMap((r) => r.results), rounds, ratio: median };
}

/** One round's summary on the console: the table, each system's kept-up step, the ratios. */
function reportRound(results, opts) {
  const plain = results.find((r) => r.system === 'socketio');
  const batched = results.find((r) => r.system === 'socketio-batched');
  const tether = results.find((r) => r.system === 'tether');

  console.log(`\nfanout: ${opts.clients} clients, ${opts.stepSeconds} s steps, ~200 B payload, loopback`);
  console.log(summaryTable(results));
  printContendedNote(results);
  for (const r of results) {
    console.log(
      `${r.system}: ${keptUpText(r.keptUp)}` +
        (r.rss ? `; RSS ${fmtKB(r.rss.perConnection)} per connection` : '') +
        errorsText(r.errors),
    );
  }
  const ratio = compare(tether, plain);
  const ratioBatched = compare(tether, batched);
  for (const [label, r] of [
    ['socket.io', ratio],
    ['socket.io batched', ratioBatched],
  ]) {
    if (!r) continue;
    console.log(
      `tether / ${label}: kept-up delivered ${r.deliveredRatio.toFixed(2)}×` +
        (r.latencyAtRate !== undefined
          ? `; latency at ${r.latencyAtRate}/s p50 ${r.p50Ratio?.toFixed(2)}×, p99 ${r.p99Ratio?.toFixed(2)}×`
          : ''),
    );
  }
  return { results, ratio, ratioBatched };
}
