/**
 * Scenario `cluster`: the same C light clients on ONE Tether node, then split evenly across N
 * nodes (3 by default) sharing one private Redis (the Redis store and the Socket.IO Redis adapter;
 * the single node runs on the same Redis, so that the two layouts differ only in the node count).
 * One node publishes at stepped rates; every client must receive every offset once. The ratio of
 * the kept-up delivered rates (N nodes / 1 node) is the scale-out factor on this machine.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { startBenchRedis } from '../lib/redis.js';
import { machineBusy, machineCpu, mergeSparse, percentiles } from '../lib/stats.js';
import { fmtInt, fmtMs, fmtPct, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const clusterDefaults = {
  clients: 3000,
  /** Loader processes; each one spreads its clients over the nodes. */
  workers: 3,
  /** Nodes of the scaled-out layout (the other layout is always 1 node). */
  nodes: 3,
  /** Messages per second published to the channel (on node 0); delivered = rate × clients. */
  rates: [20, 40, 80, 160, 320, 480, 640, 960],
  stepSeconds: 4,
  maxFails: 2,
  drainSeconds: 8,
  p99LimitMs: 400,
  minDeliveredShare: 0.9,
  connectConcurrency: 50,
  quietWaitSeconds: 20,
  quietBelowPct: 25,
  parse: 'scan',
  resultsDir: here('../results/'),
};

const CHANNEL = 'bench:cluster';
const TENANT = 'bench';
const CONTENDED_PCT = 40;

function cpuPct(a, b) {
  if (a === null || b === null || a === undefined || b === undefined) return null;
  const dt = b.at - a.at;
  return dt > 0 ? ((b.cpuMs - a.cpuMs) / dt) * 100 : null;
}

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

async function snapshot(nodes, workers, redis) {
  const [n, w] = await Promise.all([
    Promise.all(nodes.map((x) => x.call('stats'))),
    Promise.all(workers.map((x) => x.call('usage'))),
  ]);
  const redisCpu = redis.cpuMs();
  return {
    nodes: n,
    workers: w,
    redis: redisCpu === null ? null : { cpuMs: redisCpu, at: Date.now() },
    machine: machineCpu(),
  };
}

const sumTether = (nodes, key) => nodes.reduce((a, n) => a + (n.tether?.[key] ?? 0), 0);

function stepRow(layout, rate, clients, pub, before, after, reports, drainMs, end, opts) {
  const window = (pub.t1 - pub.t0) / 1000;
  const lat = percentiles(mergeSparse(reports.map((r) => r.hist)), [50, 95, 99]);
  const sum = (k) => reports.reduce((a, r) => a + r[k], 0);
  const target = rate * clients;
  const delivered = sum('inWindow') / window;
  const nodeCpu = before.nodes.map((n, i) => cpuPct(n, after.nodes[i]));
  const loaderCpu = before.workers.map((w, i) => cpuPct(w, after.workers[i]));
  const box = machineBusy(before.machine, after.machine, opts.cores);
  const delta = (k) => sumTether(end.nodes, k) - sumTether(before.nodes, k);
  const row = {
    layout,
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
    lostAtDrain: sum('lost'),
    clientsCompleteAtDrain: sum('complete'),
    dupOffsets: sum('dupOffsets'),
    drainMs,
    redelivered: delta('redelivered'),
    resyncs: delta('resyncs'),
    missed: delta('missed'),
    nodeCpuPct: nodeCpu,
    nodesCpuPct: nodeCpu.reduce((a, b) => a + (b ?? 0), 0),
    redisCpuPct: cpuPct(before.redis, after.redis),
    loaderCpuPct: loaderCpu.reduce((a, b) => a + (b ?? 0), 0),
    machineCpuPct: box.busy,
    publishLagMaxMs: pub.maxPublishLagMs,
    eventLoopDelayMs: pub.eventLoopDelayMs,
  };
  row.otherCpuPct = box.busy === null ? null : box.busy - row.nodesCpuPct - row.loaderCpuPct - (row.redisCpuPct ?? 0);
  const frames = sum('frames');
  row.msgsPerFrame = frames > 0 ? sum('unique') / frames : null;
  row.keptUp = row.p99 !== null && row.p99 <= opts.p99LimitMs && row.deliveredShare >= opts.minDeliveredShare;
  return row;
}

function printStep(r) {
  console.log(
    `  ${`${r.layout} node${r.layout > 1 ? 's' : ''}`.padEnd(7)} rate ${String(r.rate).padStart(4)}/s  ` +
      `target ${fmtInt(r.target).padStart(9)}  delivered ${fmtInt(r.delivered).padStart(9)} (${fmtPct(r.deliveredShare * 100)})  ` +
      `p50/p95/p99 ${fmtMs(r.p50)}/${fmtMs(r.p95)}/${fmtMs(r.p99)} ms  lost ${r.lostAtDrain}  dup ${r.dupOffsets}  ` +
      `cpu nodes ${r.nodeCpuPct.map(fmtPct).join('+')} redis ${fmtPct(r.redisCpuPct)} ldr ${fmtPct(r.loaderCpuPct)} ` +
      `box ${fmtPct(r.machineCpuPct)} (other ${fmtPct(r.otherCpuPct)})  ${r.keptUp ? 'ok' : 'FAIL'}`,
  );
}

/** One layout: a fresh Redis, `nodeCount` server processes, the loaders, the rate ladder. */
async function runLayout(nodeCount, opts) {
  const secret = randomBytes(24).toString('hex');
  const result = { layout: nodeCount, steps: [], errors: [] };
  result.backgroundCpuPct = await quietBox(opts);
  const redis = await startBenchRedis();
  /** @type {Child[]} */
  const nodes = [];
  /** @type {Child[]} */
  const workers = [];
  try {
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(
        new Child(here('../servers/tether-server.js'), {
          name: `node-${i}`,
          execArgv: ['--expose-gc'],
          env: {
            ...process.env,
            BENCH_JWT_SECRET: secret,
            BENCH_STORE: redis.url,
            BENCH_CHANNEL: CHANNEL,
            BENCH_TENANT: TENANT,
            NODE_ENV: 'production',
          },
        }),
      );
    }
    const ready = await Promise.all(nodes.map((n) => n.waitFor('ready', 30_000)));
    result.pids = { redis: redis.pid, nodes: nodes.map((n) => n.pid) };
    console.log(
      `\n${nodeCount} node${nodeCount > 1 ? 's' : ''}: redis pid ${redis.pid} on ${redis.url}; ` +
        `node pids ${nodes.map((n, i) => `${n.pid} (:${ready[i].port})`).join(', ')}; ` +
        `box busy before start ${fmtPct(result.backgroundCpuPct)}`,
    );
    for (let i = 0; i < opts.workers; i++)
      workers.push(new Child(here('../workers/loader.js'), { name: `loader-${i}` }));

    // Each loader's clients, in contiguous slices, one slice per node: clients split evenly.
    const per = Math.ceil(opts.clients / opts.workers);
    const t0 = performance.now();
    const conn = await Promise.all(
      workers.map(async (w, i) => {
        const start = i * per;
        const count = Math.max(0, Math.min(per, opts.clients - start));
        const slice = Math.ceil(count / nodeCount);
        const outcomes = [];
        for (let n = 0; n < nodeCount; n++) {
          const from = start + n * slice;
          const take = Math.max(0, Math.min(slice, start + count - from));
          if (take === 0) continue;
          outcomes.push(
            await w.call(
              'connect',
              {
                url: socketUrl('127.0.0.1', ready[n].port),
                channel: CHANNEL,
                channels: ['bench:*'],
                tenant: TENANT,
                secret,
                startIndex: from,
                count: take,
                concurrency: opts.connectConcurrency,
                ackIntervalMs: 1000,
                parse: opts.parse,
                timeoutMs: 20_000,
              },
              180_000,
            ),
          );
        }
        return outcomes;
      }),
    );
    const all = conn.flat();
    // A loader's `connect` answers how many clients it holds in all: its last answer counts.
    const connected = conn.reduce((a, outcomes) => a + (outcomes.at(-1)?.connected ?? 0), 0);
    const failed = all.reduce((a, c) => a + c.failed, 0);
    result.connect = {
      connected,
      failed,
      seconds: (performance.now() - t0) / 1000,
      errors: all.flatMap((c) => c.errors).slice(0, 5),
    };
    const perNode = await Promise.all(nodes.map((n) => n.call('stats')));
    result.connect.perNode = perNode.map((s) => s.tether?.connections ?? null);
    console.log(
      `  ${connected} clients connected and subscribed in ${result.connect.seconds.toFixed(1)} s ` +
        `(per node ${result.connect.perNode.join(' / ')})` +
        (failed ? `, ${failed} failed: ${result.connect.errors.join(' | ')}` : ''),
    );
    if (connected === 0) throw new Error(`no client could connect: ${result.connect.errors.join(' | ')}`);
    await sleep(1000);

    let fails = 0;
    for (let i = 0; i < opts.rates.length; i++) {
      const rate = opts.rates[i];
      const before = await snapshot(nodes, workers, redis);
      const pub = await nodes[0].call(
        'step',
        { step: i, rate, seconds: opts.stepSeconds },
        (opts.stepSeconds + 60) * 1000,
      );
      const after = await snapshot(nodes, workers, redis);
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
      const end = await snapshot(nodes, workers, redis);
      const row = stepRow(nodeCount, rate, connected, pub, before, after, reports, drainMs, end, opts);
      result.steps.push(row);
      printStep(row);
      fails = row.keptUp ? 0 : fails + 1;
      if (fails >= opts.maxFails) break;
      await sleep(1000);
    }

    // Late redeliveries would land after a step's report: count losses and duplicates once more.
    await sleep(1500);
    for (const [i, row] of result.steps.entries()) {
      const args = { step: i, first: row.offsets[0], last: row.offsets[1], t0: 0, t1: 0 };
      const reports = await Promise.all(workers.map((w) => w.call('report', args, 60_000)));
      row.lostFinal = reports.reduce((a, r) => a + r.lost, 0);
      row.dupOffsetsFinal = reports.reduce((a, r) => a + r.dupOffsets, 0);
    }
    const end = await snapshot(nodes, workers, redis);
    result.nodes = end.nodes.map((n) => ({ rss: n.rss, tether: n.tether ?? null }));
    result.loader = end.workers.map((w) => ({ rss: w.rss, counters: w.counters }));
    const keptUp = result.steps.filter((s) => s.keptUp);
    result.keptUp = keptUp.length ? keptUp.reduce((a, b) => (b.delivered > a.delivered ? b : a)) : null;
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    console.log(`  ${nodeCount} node(s) failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await Promise.all([...workers.map((w) => w.stop(5000)), ...nodes.map((n) => n.stop(8000))]);
    await redis.stop();
  }
  return result;
}

function summaryTable(results) {
  const rows = [];
  for (const r of results)
    for (const s of r.steps)
      rows.push([
        `${r.layout}`,
        s.rate,
        fmtInt(s.target),
        fmtInt(s.delivered),
        fmtPct(s.deliveredShare * 100),
        `${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.p99)}`,
        s.lostFinal ?? s.lostAtDrain,
        s.dupOffsetsFinal ?? s.dupOffsets,
        s.redelivered,
        s.resyncs,
        s.nodeCpuPct.map(fmtPct).join(' + '),
        fmtPct(s.redisCpuPct),
        fmtPct(s.loaderCpuPct),
        `${fmtPct(s.machineCpuPct)} (${fmtPct(s.otherCpuPct)})`,
        s.msgsPerFrame === null ? '-' : s.msgsPerFrame.toFixed(1),
        (s.keptUp ? 'yes' : 'no') + (s.otherCpuPct > CONTENDED_PCT ? '*' : ''),
      ]);
  return table(
    [
      'nodes',
      'rate/s',
      'target msg/s',
      'delivered msg/s',
      '%',
      'p50 / p95 / p99 ms',
      'lost',
      'dup',
      'redeliv',
      'resync',
      'node CPU',
      'redis CPU',
      'loader CPU',
      'box CPU (other)',
      'msg/frame',
      'kept up',
    ],
    rows,
  );
}

/**
 * Node CPU at the highest rate both layouts kept up with: how much one node's load shrinks when
 * the clients are spread. On this box every process shares 2 cores, so the measured ratio cannot
 * show a gain; this is what separate machines would see, to first order.
 */
function project(one, many) {
  if (!one || !many) return null;
  const common = one.steps.filter((s) => s.keptUp && many.steps.some((m) => m.keptUp && m.rate === s.rate));
  const at = common.at(-1);
  const other = at && many.steps.find((m) => m.keptUp && m.rate === at.rate);
  if (!at || !other) return null;
  const single = at.nodeCpuPct[0];
  const busiest = Math.max(...other.nodeCpuPct.map((x) => x ?? 0));
  if (single === null || !(busiest > 0)) return null;
  return { rate: at.rate, single, busiest, sum: other.nodesCpuPct, factor: single / busiest };
}

/** @param {typeof clusterDefaults & {stamp: string, cores: number}} opts */
export async function runCluster(opts) {
  const results = [];
  for (const n of [1, opts.nodes]) results.push(await runLayout(n, opts));
  const [one, many] = results;
  console.log(
    `\ncluster: ${opts.clients} clients (split evenly over the nodes), publisher on node 0, ` +
      `${opts.stepSeconds} s steps, ~200 B payload, one private Redis (no persistence), loopback`,
  );
  console.log(summaryTable(results));
  if (results.some((r) => r.steps.some((x) => x.otherCpuPct > CONTENDED_PCT))) {
    console.log(`* other processes or kernel work took more than ${CONTENDED_PCT}% of a core during that step`);
  }
  const lost = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + (s.lostFinal ?? s.lostAtDrain), 0), 0);
  const dup = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + (s.dupOffsetsFinal ?? s.dupOffsets), 0), 0);
  for (const r of results) {
    const k = r.keptUp;
    console.log(
      `${r.layout} node${r.layout > 1 ? 's' : ''}: kept up ` +
        (k ? `${fmtInt(k.delivered)} msg/s (rate ${k.rate}/s, p50 ${k.p50} / p99 ${k.p99} ms)` : 'nothing') +
        (r.nodes ? `; node RSS ${r.nodes.map((n) => `${Math.round(n.rss / 2 ** 20)} MB`).join(', ')}` : '') +
        (r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''),
    );
  }
  const ratio = one?.keptUp && many?.keptUp ? many.keptUp.delivered / one.keptUp.delivered : null;
  console.log(`completeness: lost ${lost}, duplicated ${dup} (client, offset) pairs over every step of both layouts`);
  const projection = project(one, many);
  if (projection) {
    console.log(
      `at ${projection.rate}/s (the highest rate both kept up with): 1 node used ${fmtPct(projection.single)} of a core; ` +
        `the busiest of ${opts.nodes} nodes ${fmtPct(projection.busiest)} (all ${opts.nodes}: ${fmtPct(projection.sum)}) → ` +
        `per-node load ÷${projection.factor.toFixed(2)}: the gain to expect with each node on its own machine ` +
        `(a projection from CPU shares, not a measurement)`,
    );
  }
  console.log(
    ratio === null
      ? `scale-out ratio: n/a (a layout kept up with no step)`
      : `scale-out ratio (${opts.nodes} nodes / 1 node, kept-up delivered msg/s): ${ratio.toFixed(2)}×`,
  );
  return { results, ratio, projection, lost, dup };
}
