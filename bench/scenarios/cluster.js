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
import { machineBusy, machineCpu } from '../lib/stats.js';
import { fmtMs, fmtPct, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';
import {
  completeness,
  cpuPct,
  dupOf,
  finishRow,
  loaderCpu,
  lostOf,
  measureStep,
  publisherLag,
  wireDuplicates,
  wireDupsOf,
} from '../lib/step.js';
import * as ladder from '../lib/ladder.js';
import { errorsText, keptUpText, printContendedNote, printStepLine, stepRows } from '../lib/report.js';

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

/**
 * Readings of every node, every loader and redis-server, around a publish window.
 * @param {Child[]} nodes
 * @param {Child[]} workers
 * @param {{cpuMs: () => number | null}} redis
 */
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

/**
 * One step's result row: the shared figures (lib/step.js), plus the CPU of each node and of
 * redis-server, and Tether's `stats()` deltas summed over the nodes once the step has drained.
 * @param {number} layout the node count
 * @param {number} clients
 * @param {import('../lib/ladder.js').StepData<Awaited<ReturnType<typeof snapshot>>, Awaited<ReturnType<typeof snapshot>>>} d
 * @param {typeof clusterDefaults & {cores: number}} opts
 */
function stepRow(layout, clients, { rate, pub, before, after, reports, drainMs, drained }, opts) {
  const nodeCpu = before.nodes.map((n, i) => cpuPct(n, after.nodes[i]));
  const loaders = loaderCpu(before.workers, after.workers);
  const box = machineBusy(before.machine, after.machine, opts.cores);
  const delta = (k) => sumTether(drained.nodes, k) - sumTether(before.nodes, k);
  const row = {
    layout,
    rate,
    ...measureStep(rate, clients, pub, reports),
    ...completeness(reports),
    ...wireDuplicates(reports),
    drainMs,
    redelivered: delta('redelivered'),
    resyncs: delta('resyncs'),
    missed: delta('missed'),
    nodeCpuPct: nodeCpu,
    nodesCpuPct: nodeCpu.reduce((a, b) => a + (b ?? 0), 0),
    redisCpuPct: cpuPct(before.redis, after.redis),
    loaderCpuPct: loaders.sum,
    machineCpuPct: box.busy,
    ...publisherLag(pub),
  };
  return finishRow(row, box, [row.nodesCpuPct, row.loaderCpuPct, row.redisCpuPct ?? 0], reports, opts);
}

function printStep(r) {
  printStepLine(
    `${r.layout} node${r.layout > 1 ? 's' : ''}`.padEnd(7),
    r,
    `nodes ${r.nodeCpuPct.map(fmtPct).join('+')} redis ${fmtPct(r.redisCpuPct)} ldr ${fmtPct(r.loaderCpuPct)}`,
  );
  console.log(
    `          redelivered ${r.redelivered}  wire dup ${r.wireDups} (to acking clients ${r.wireDupsAcking}, ` +
      `app ${r.appDups})  missed ${r.missed}  resync ${r.resyncs}`,
  );
}

/** One layout: a fresh Redis, `nodeCount` server processes, the loaders, the rate ladder. */
async function runLayout(nodeCount, opts) {
  const secret = randomBytes(24).toString('hex');
  const result = { layout: nodeCount, steps: [], errors: [] };
  result.backgroundCpuPct = await ladder.quietBox(opts);
  const redis = await startBenchRedis();
  /** @type {Child[]} */
  const nodes = [];
  /** @type {Child[]} */
  const workers = [];
  const stop = async () => {
    await ladder.stopProcesses(workers, nodes);
    await redis.stop();
  };
  return ladder.guardedRun(result, `${nodeCount} node(s)`, stop, async () => {
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(
        new Child(here('../servers/tether-server.js'), {
          name: `node-${i}`,
          execArgv: ['--expose-gc'],
          env: ladder.serverEnv(secret, redis.url, CHANNEL),
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
            await ladder.connectClients(
              w,
              { url: socketUrl('127.0.0.1', ready[n].port), channel: CHANNEL, secret, startIndex: from, count: take },
              opts,
            ),
          );
        }
        return outcomes;
      }),
    );
    // A loader's `connect` answers how many clients it holds in all: its last answer counts.
    const connected = conn.reduce((a, outcomes) => a + (outcomes.at(-1)?.connected ?? 0), 0);
    result.connect = ladder.connectResult(connected, conn.flat(), t0);
    const failed = result.connect.failed;
    const perNode = await Promise.all(nodes.map((n) => n.call('stats')));
    result.connect.perNode = perNode.map((s) => s.tether?.connections ?? null);
    console.log(
      `  ${connected} clients connected and subscribed in ${result.connect.seconds.toFixed(1)} s ` +
        `(per node ${result.connect.perNode.join(' / ')})` +
        (failed ? `, ${failed} failed: ${result.connect.errors.join(' | ')}` : ''),
    );
    if (connected === 0) throw new Error(`no client could connect: ${result.connect.errors.join(' | ')}`);
    await sleep(1000);

    await ladder.runLadder(
      {
        workers,
        publisher: nodes[0],
        snapshot: () => snapshot(nodes, workers, redis),
        // Every node's counters, not only node 0's: each node redelivers to its own clients.
        drained: () => snapshot(nodes, workers, redis),
        row: (d) => stepRow(nodeCount, connected, d, opts),
        print: printStep,
        result,
      },
      opts,
    );
    const end = await ladder.finishLadder(workers, result, () => snapshot(nodes, workers, redis), {
      dupsSeen: true,
    });
    result.nodes = end.nodes.map((n) => ({ rss: n.rss, tether: n.tether ?? null }));
  });
}

function summaryTable(results) {
  const rows = stepRows(results, (r, s, c) => [
    `${r.layout}`,
    s.rate,
    c.target,
    c.delivered,
    c.share,
    `${fmtMs(s.p50)} / ${fmtMs(s.p95)} / ${fmtMs(s.p99)}`,
    c.lost,
    c.dup,
    s.redelivered,
    wireDupsOf(s).wire,
    wireDupsOf(s).acking,
    s.missed,
    s.resyncs,
    s.nodeCpuPct.map(fmtPct).join(' + '),
    fmtPct(s.redisCpuPct),
    fmtPct(s.loaderCpuPct),
    c.box,
    c.msgsPerFrame,
    c.keptUp,
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
      'wire dup',
      'to acking',
      'missed',
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
  const at = ladder.lastCommonKeptUp(one, many);
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
  printContendedNote(results);
  const lost = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + lostOf(s), 0), 0);
  const dup = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + dupOf(s), 0), 0);
  const wire = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + wireDupsOf(s).wire, 0), 0);
  const acking = results.reduce((a, r) => a + r.steps.reduce((b, s) => b + wireDupsOf(s).acking, 0), 0);
  for (const r of results) {
    console.log(
      `${r.layout} node${r.layout > 1 ? 's' : ''}: ${keptUpText(r.keptUp)}` +
        (r.nodes ? `; node RSS ${r.nodes.map((n) => `${Math.round(n.rss / 2 ** 20)} MB`).join(', ')}` : '') +
        errorsText(r.errors),
    );
  }
  const ratio = one?.keptUp && many?.keptUp ? many.keptUp.delivered / one.keptUp.delivered : null;
  console.log(`completeness: lost ${lost}, duplicated ${dup} (client, offset) pairs over every step of both layouts`);
  console.log(
    `wire duplicates: ${wire} messages received again over every step of both layouts, ` +
      `${acking} of them by clients that were acking (acked within the ack timeout)`,
  );
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
  return { results, ratio, projection, lost, dup, wireDups: wire, wireDupsAcking: acking };
}
