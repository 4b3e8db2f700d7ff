/**
 * Scenario `fanout`: C light clients subscribe to one channel; the server publishes at stepped rates
 * and every client must receive every message once. Runs Tether and, as the baseline, plain
 * Socket.IO broadcasting the same frames to the same clients, each in its own server process.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { machineBusy, machineCpu, mergeSparse, percentiles } from '../lib/stats.js';
import { fmtInt, fmtKB, fmtMs, fmtPct, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const fanoutDefaults = {
  clients: 5000,
  workers: 4,
  /** Messages per second published to the channel; delivered = rate × clients. */
  rates: [5, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280],
  stepSeconds: 5,
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
const TENANT = 'bench';

/** Systems by name; `socketio-batched` is opt-in (`--only`): plain Socket.IO with Tether's per-turn batching. */
export const SYSTEMS = {
  socketio: { label: 'socket.io', script: here('../servers/socketio-server.js'), env: {} },
  tether: { label: 'tether', script: here('../servers/tether-server.js'), env: {} },
  'socketio-batched': {
    label: 'socket.io, one frame per event-loop turn',
    script: here('../servers/socketio-server.js'),
    env: { BENCH_BATCH: '1' },
  },
};
export const DEFAULT_SYSTEMS = ['socketio', 'tether'];
/** A step whose "other" CPU (neither server nor loader) is above this is marked as contended. */
const CONTENDED_PCT = 40;

function cpuPct(a, b) {
  const dt = b.at - a.at;
  return dt > 0 ? ((b.cpuMs - a.cpuMs) / dt) * 100 : null;
}

async function snapshot(server, workers) {
  const [s, w] = await Promise.all([server.call('stats'), Promise.all(workers.map((x) => x.call('usage')))]);
  return { server: s, workers: w, machine: machineCpu() };
}

function stepRow(system, rate, clients, pub, before, after, reports, drainMs, serverAfterDrain, opts) {
  const window = (pub.t1 - pub.t0) / 1000;
  const merged = mergeSparse(reports.map((r) => r.hist));
  const lat = percentiles(merged, [50, 95, 99]);
  const sum = (k) => reports.reduce((a, r) => a + r[k], 0);
  const target = rate * clients;
  const delivered = sum('inWindow') / window;
  const loaderPcts = before.workers.map((w, i) => cpuPct(w, after.workers[i]));
  const box = machineBusy(before.machine, after.machine, opts.cores);
  const delta = (k) =>
    serverAfterDrain.tether && before.server.tether ? serverAfterDrain.tether[k] - before.server.tether[k] : null;
  const redelivered = delta('redelivered');
  const row = {
    system,
    rate,
    seconds: window,
    target,
    delivered,
    deliveredShare: delivered / target,
    p50: lat.pcts.p50,
    p95: lat.pcts.p95,
    p99: lat.pcts.p99,
    max: lat.max,
    published: pub.published,
    publishErrors: pub.errors,
    firstPublishError: pub.firstError,
    offsets: [pub.first, pub.last],
    offsetsContiguous: pub.contiguous,
    expectedDeliveries: (pub.last - pub.first + 1) * clients,
    uniqueReceived: sum('unique'),
    lostAtDrain: sum('lost'),
    clientsCompleteAtDrain: sum('complete'),
    drainMs,
    dupOffsets: sum('dupOffsets'),
    redelivered,
    resyncs: delta('resyncs'),
    missed: delta('missed'),
    serverCpuPct: cpuPct(before.server, after.server),
    serverRss: after.server.rss,
    loaderCpuPct: loaderPcts.reduce((a, b) => a + b, 0),
    loaderMaxWorkerPct: Math.max(...loaderPcts),
    machineCpuPct: box.busy,
    irqCpuPct: box.irq,
    publishLagMaxMs: pub.maxPublishLagMs,
    eventLoopDelayMs: pub.eventLoopDelayMs,
  };
  // What neither the server nor the loader used: kernel interrupt work and other processes.
  row.otherCpuPct = box.busy === null ? null : box.busy - row.serverCpuPct - row.loaderCpuPct;
  const frames = sum('frames');
  row.msgsPerFrame = frames > 0 ? row.uniqueReceived / frames : null;
  row.keptUp = row.p99 !== null && row.p99 <= opts.p99LimitMs && row.deliveredShare >= opts.minDeliveredShare;
  return row;
}

function printStep(r) {
  console.log(
    `  ${r.system.padEnd(9)} rate ${String(r.rate).padStart(4)}/s  target ${fmtInt(r.target).padStart(9)}  ` +
      `delivered ${fmtInt(r.delivered).padStart(9)} (${fmtPct(r.deliveredShare * 100)})  ` +
      `p50/p95/p99 ${fmtMs(r.p50)}/${fmtMs(r.p95)}/${fmtMs(r.p99)} ms  lost ${r.lostAtDrain}  dup ${r.dupOffsets}  ` +
      `cpu srv ${fmtPct(r.serverCpuPct)} ldr ${fmtPct(r.loaderCpuPct)} box ${fmtPct(r.machineCpuPct)} (other ${fmtPct(r.otherCpuPct)})  ${r.keptUp ? 'ok' : 'FAIL'}`,
  );
}

/**
 * Other engineers' jobs share this box: measure the background load before a system runs and wait
 * (bounded) for it to calm down, so that the two systems are compared on a similar machine.
 */
async function quietBox(opts) {
  const deadline = Date.now() + opts.quietWaitSeconds * 1000;
  let busy = null;
  for (;;) {
    const a = machineCpu();
    await sleep(1000);
    busy = machineBusy(a, machineCpu(), opts.cores).busy;
    if (busy === null || busy <= opts.quietBelowPct || Date.now() >= deadline) break;
    console.log(`  box busy ${fmtPct(busy)} before the run (other jobs); waiting for < ${opts.quietBelowPct}%`);
    await sleep(2000);
  }
  return busy;
}

async function runSystem(name, opts) {
  const sys = SYSTEMS[name];
  const secret = randomBytes(24).toString('hex');
  const execArgv = ['--expose-gc'];
  if (opts.cpuProf)
    execArgv.push(
      '--cpu-prof',
      '--cpu-prof-dir',
      `${opts.resultsDir}prof`,
      '--cpu-prof-name',
      `${name}-${opts.stamp}.cpuprofile`,
    );
  const result = { system: name, store: name === 'tether' ? opts.store : null, steps: [], errors: [] };
  result.backgroundCpuPct = await quietBox(opts);
  const server = new Child(sys.script, {
    name: `${name}-server`,
    execArgv,
    env: {
      ...process.env,
      BENCH_JWT_SECRET: secret,
      BENCH_STORE: opts.store,
      BENCH_CHANNEL: CHANNEL,
      BENCH_TENANT: TENANT,
      NODE_ENV: 'production',
      ...sys.env,
    },
  });
  /** @type {Child[]} */
  const workers = [];
  try {
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
          execArgv: opts.cpuProf
            ? [
                '--cpu-prof',
                '--cpu-prof-dir',
                `${opts.resultsDir}prof`,
                '--cpu-prof-name',
                `loader-${i}-${name}-${opts.stamp}.cpuprofile`,
              ]
            : [],
        }),
      );
    const rssBefore = (await server.call('gc')).rss;

    const per = Math.ceil(opts.clients / opts.workers);
    const t0 = performance.now();
    const conn = await Promise.all(
      workers.map((w, i) =>
        w.call(
          'connect',
          {
            url: socketUrl('127.0.0.1', ready.port),
            channel: CHANNEL,
            channels: ['bench:*'],
            tenant: TENANT,
            secret,
            startIndex: i * per,
            count: Math.max(0, Math.min(per, opts.clients - i * per)),
            concurrency: opts.connectConcurrency,
            ackIntervalMs: 1000,
            parse: opts.parse,
            timeoutMs: 20_000,
          },
          180_000,
        ),
      ),
    );
    const connected = conn.reduce((a, c) => a + c.connected, 0);
    const failed = conn.reduce((a, c) => a + c.failed, 0);
    result.connect = {
      connected,
      failed,
      seconds: (performance.now() - t0) / 1000,
      errors: conn.flatMap((c) => c.errors).slice(0, 5),
    };
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

    let fails = 0;
    for (let i = 0; i < opts.rates.length; i++) {
      const rate = opts.rates[i];
      const before = await snapshot(server, workers);
      const pub = await server.call(
        'step',
        { step: i, rate, seconds: opts.stepSeconds },
        (opts.stepSeconds + 60) * 1000,
      );
      const after = await snapshot(server, workers);
      if (pub.first === null) {
        result.errors.push(`step ${i}: nothing published (${pub.errors} errors: ${pub.firstError})`);
        console.log(`  rate ${rate}: nothing published: ${pub.firstError}`);
        break;
      }
      const drainStart = Date.now();
      while (Date.now() - drainStart < opts.drainSeconds * 1000) {
        const p = await Promise.all(workers.map((w) => w.call('progress', { target: pub.last })));
        if (p.reduce((a, x) => a + x.reached, 0) >= p.reduce((a, x) => a + x.alive, 0)) break;
        await sleep(100);
      }
      const drainMs = Date.now() - drainStart;
      const args = { step: i, first: pub.first, last: pub.last, t0: pub.t0, t1: pub.t1 };
      const reports = await Promise.all(workers.map((w) => w.call('report', args, 60_000)));
      const serverAfterDrain = await server.call('stats');
      const row = stepRow(name, rate, connected, pub, before, after, reports, drainMs, serverAfterDrain, opts);
      result.steps.push(row);
      printStep(row);
      fails = row.keptUp ? 0 : fails + 1;
      if (fails >= opts.maxFails) break;
      // Let the last acks of the step land before the next one starts.
      await sleep(1000);
    }

    // Late redeliveries would land after a step's report: count duplicates and losses once more.
    await sleep(1500);
    for (const row of result.steps) {
      const i = result.steps.indexOf(row);
      const args = { step: i, first: row.offsets[0], last: row.offsets[1], t0: 0, t1: 0 };
      const reports = await Promise.all(workers.map((w) => w.call('report', args, 60_000)));
      row.lostFinal = reports.reduce((a, r) => a + r.lost, 0);
      row.dupOffsetsFinal = reports.reduce((a, r) => a + r.dupOffsets, 0);
      row.dupsSeenFinal = reports.reduce((a, r) => a + r.dupsSeen, 0);
    }
    const end = await snapshot(server, workers);
    result.server = {
      rssEnd: end.server.rss,
      tether: end.server.tether ?? null,
      connections: end.server.connections ?? null,
    };
    result.loader = end.workers.map((w) => ({ rss: w.rss, counters: w.counters }));
    const keptUp = result.steps.filter((s) => s.keptUp);
    result.keptUp = keptUp.length ? keptUp.reduce((a, b) => (b.delivered > a.delivered ? b : a)) : null;
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    console.log(`  ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await Promise.all([...workers.map((w) => w.stop(5000)), server.stop(8000)]);
  }
  return result;
}

function summaryTable(results) {
  const rows = [];
  for (const r of results)
    for (const s of r.steps)
      rows.push([
        r.system,
        s.rate,
        fmtInt(s.target),
        fmtInt(s.delivered),
        fmtPct(s.deliveredShare * 100),
        fmtMs(s.p50),
        fmtMs(s.p95),
        fmtMs(s.p99),
        s.lostFinal ?? s.lostAtDrain,
        s.dupOffsetsFinal ?? s.dupOffsets,
        s.redelivered ?? '-',
        s.resyncs ?? '-',
        fmtPct(s.serverCpuPct),
        `${fmtPct(s.loaderCpuPct)} (${fmtPct(s.loaderMaxWorkerPct)})`,
        `${fmtPct(s.machineCpuPct)} (${fmtPct(s.otherCpuPct)})`,
        s.msgsPerFrame === null ? '-' : s.msgsPerFrame.toFixed(1),
        (s.keptUp ? 'yes' : 'no') + (s.otherCpuPct > CONTENDED_PCT ? '*' : ''),
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
  const common = tether.steps.filter((s) => s.keptUp && plain.steps.some((p) => p.keptUp && p.rate === s.rate));
  const at = common.length ? common[common.length - 1] : null;
  const p = at && plain.steps.find((x) => x.rate === at.rate);
  if (at && p) {
    out.latencyAtRate = at.rate;
    out.p50Ratio = p.p50 ? at.p50 / p.p50 : null;
    out.p99Ratio = p.p99 ? at.p99 / p.p99 : null;
    out.tetherLatency = { p50: at.p50, p95: at.p95, p99: at.p99 };
    out.socketioLatency = { p50: p.p50, p95: p.p95, p99: p.p99 };
  }
  return out;
}

/** @param {typeof fanoutDefaults & {stamp: string, cores: number}} opts */
export async function runFanout(opts) {
  const results = [];
  for (const name of opts.only ?? DEFAULT_SYSTEMS) results.push(await runSystem(name, opts));
  const plain = results.find((r) => r.system === 'socketio');
  const batched = results.find((r) => r.system === 'socketio-batched');
  const tether = results.find((r) => r.system === 'tether');

  console.log(`\nfanout: ${opts.clients} clients, ${opts.stepSeconds} s steps, ~200 B payload, loopback`);
  console.log(summaryTable(results));
  if (results.some((r) => r.steps.some((x) => x.otherCpuPct > CONTENDED_PCT))) {
    console.log(`* other processes or kernel work took more than ${CONTENDED_PCT}% of a core during that step`);
  }
  for (const r of results) {
    const k = r.keptUp;
    console.log(
      `${r.system}: kept up ${k ? `${fmtInt(k.delivered)} msg/s (rate ${k.rate}/s, p50 ${k.p50} / p99 ${k.p99} ms)` : 'nothing'}` +
        (r.rss ? `; RSS ${fmtKB(r.rss.perConnection)} per connection` : '') +
        (r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''),
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
