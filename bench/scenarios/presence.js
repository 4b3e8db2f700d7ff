/**
 * Scenario `presence`: what channel presence costs as a channel grows. For each size N (1000, 2500,
 * 5000), a fresh Tether server (memory store, presence on `bench:presence`) and N light clients,
 * each its own user, that join the channel spread evenly over `--join-seconds` (5); then it waits
 * until every client's member list holds N (snapshot, then joins, the batched diffs) and reports the
 * presence frames and bytes the server sent (received by all clients), per member and over N.
 * Linear frames (frames per member about constant) and bytes per member about linear in N (each
 * member learns each other member about once: `learned / N²` ≈ 1) mean no O(n²) frame count.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { fmtInt, fmtPct, table } from '../lib/format.js';
import { socketUrl } from '../lib/frame-client.js';
import { TENANT, quietBox, serverEnv } from '../lib/ladder.js';
import { profArgs } from '../lib/prof.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CHANNEL = 'bench:presence';

export const presenceDefaults = {
  sizes: [1000, 2500, 5000],
  workers: 4,
  /** Connects spread over this long: half the goal's 10 s, so a run says whether all get in within it. */
  joinSeconds: 5,
  /** Issue 11's goal: every client joined and every member list converged this long after the first connect. */
  goalSeconds: 10,
  /** Give a size up when its member lists have not converged this long after the last join. */
  convergeSeconds: 30,
  quietWaitSeconds: 10,
  quietBelowPct: 25,
  resultsDir: here('../results/'),
};

/** Sums the loaders' counters. */
function total(stats) {
  const sum = (key) => stats.reduce((a, s) => a + (s[key] ?? 0), 0);
  return {
    clients: sum('clients'),
    converged: sum('converged'),
    frames: sum('frames'),
    bytes: sum('bytes'),
    snapshots: sum('snapshots'),
    learned: sum('learned'),
    joins: sum('joins'),
    leaves: sum('leaves'),
    repeatedJoins: sum('repeatedJoins'),
    unknownLeaves: sum('unknownLeaves'),
    busyRetries: sum('busyRetries'),
    scanMismatches: sum('scanMismatches'),
    loadersCpuMs: stats.reduce((a, s) => a + (s.usage?.cpuMs ?? 0), 0),
    minSize: Math.min(...stats.map((s) => s.minSize ?? Infinity)),
    maxSize: Math.max(...stats.map((s) => s.maxSize ?? -Infinity)),
  };
}

async function runSize(n, opts) {
  const result = { members: n, errors: [] };
  result.backgroundCpuPct = await quietBox(opts);
  const secret = randomBytes(24).toString('hex');
  const server = new Child(here('../servers/tether-server.js'), {
    name: `presence-server-${n}`,
    execArgv: profArgs(opts, `presence-server-${n}`),
    env: {
      ...serverEnv(secret, 'memory', CHANNEL),
      BENCH_SERVER_OPTIONS: JSON.stringify({ presence: { channels: [{ pattern: CHANNEL }] } }),
    },
  });
  const workers = [];
  try {
    const ready = await server.waitFor('ready', 30_000);
    for (let i = 0; i < opts.workers; i++)
      workers.push(
        new Child(here('../workers/presence-loader.js'), {
          name: `presence-loader-${i}`,
          execArgv: profArgs(opts, `presence-loader-${i}-${n}`),
        }),
      );
    await Promise.all(workers.map((w) => w.waitFor('ready', 30_000)));
    const per = Math.ceil(n / opts.workers);
    const t0 = performance.now();
    const joined = await Promise.all(
      workers.map((w, i) =>
        w.call(
          'connect',
          {
            url: socketUrl('127.0.0.1', ready.port),
            channel: CHANNEL,
            secret,
            tenant: TENANT,
            startIndex: i * per,
            count: Math.max(0, Math.min(per, n - i * per)),
            total: n,
            spreadMs: opts.joinSeconds * 1000,
            timeoutMs: 60_000,
          },
          opts.joinSeconds * 1000 + 90_000,
        ),
      ),
    );
    result.joinSeconds = (performance.now() - t0) / 1000;
    result.failed = joined.reduce((a, j) => a + j.failed, 0);
    if (result.failed)
      result.errors.push(
        `${result.failed} clients failed: ${joined
          .flatMap((j) => j.errors)
          .slice(0, 3)
          .join(' | ')}`,
      );
    // The channel's members: the clients that got in (a refused one is not a member, and no list should hold it).
    const m = (result.joined = joined.reduce((a, j) => a + j.connected, 0));
    const deadline = performance.now() + opts.convergeSeconds * 1000;
    let t;
    for (;;) {
      t = total(await Promise.all(workers.map((w) => w.call('stats', { target: m }))));
      if (t.converged === m || performance.now() > deadline) break;
      await sleep(250);
    }
    result.convergedSeconds = (performance.now() - t0) / 1000;
    // A moment more: a straggling duplicate would show in the counts.
    await sleep(1000);
    t = total(await Promise.all(workers.map((w) => w.call('stats', { target: m }))));
    Object.assign(result, t);
    // CPU time is what a busy box distorts least: the server's over the whole size (process start included).
    result.serverCpuMs = (await server.call('stats', {})).cpuMs;
    if (t.converged !== m)
      result.errors.push(`${t.converged} of ${m} member lists converged (sizes ${t.minSize}..${t.maxSize})`);
    const lists =
      t.converged === m ? `every list at ${m}` : `${t.converged} lists at ${m} (sizes ${t.minSize}..${t.maxSize})`;
    console.log(
      `  ${n} clients: ${m} joined in ${result.joinSeconds.toFixed(1)} s, ${lists} after ${result.convergedSeconds.toFixed(1)} s; ` +
        `${fmtInt(t.frames)} presence frames, ${(t.bytes / 2 ** 20).toFixed(1)} MiB; ${fmtInt(t.repeatedJoins)} joins of a ` +
        `member already listed (diffs overlapping the snapshot), ${t.unknownLeaves} leaves of one not listed, ` +
        `${t.busyRetries} connects retried after server_busy; CPU: server ${(result.serverCpuMs / 1000).toFixed(1)} s, ` +
        `loaders ${(t.loadersCpuMs / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    console.log(`  ${n} failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await Promise.all([...workers.map((w) => w.stop(5000)), server.stop(8000)]);
  }
  return result;
}

/** @param {typeof presenceDefaults & {cores: number}} opts */
export async function runPresence(opts) {
  const results = [];
  for (const n of opts.sizes) results.push(await runSize(n, opts));
  console.log(`\npresence: N clients join one presence channel over ${opts.joinSeconds} s (memory store, one node)`);
  console.log(
    table(
      [
        'clients',
        'joined in',
        'lists converged',
        'frames',
        'frames / member',
        'MiB',
        'KiB / member',
        'bytes / member / N',
        'learned / N²',
        'server CPU s',
        'loaders CPU s',
        'box busy',
      ],
      results.map((r) => {
        const m = r.joined ?? 0;
        return [
          String(r.members),
          r.joinSeconds === undefined ? '-' : `${m} in ${r.joinSeconds.toFixed(1)} s`,
          r.converged === m && m > 0 ? `all ${m}, ${r.convergedSeconds.toFixed(1)} s` : `${r.converged ?? 0} of ${m}`,
          fmtInt(r.frames),
          r.frames ? (r.frames / m).toFixed(1) : '-',
          r.bytes ? (r.bytes / 2 ** 20).toFixed(1) : '-',
          r.bytes ? (r.bytes / m / 1024).toFixed(1) : '-',
          r.bytes ? (r.bytes / m / m).toFixed(1) : '-',
          r.learned ? (r.learned / m ** 2).toFixed(2) : '-',
          r.serverCpuMs ? (r.serverCpuMs / 1000).toFixed(1) : '-',
          r.loadersCpuMs ? (r.loadersCpuMs / 1000).toFixed(1) : '-',
          fmtPct(r.backgroundCpuPct),
        ];
      }),
    ),
  );
  const ok = results.every((r) => r.errors.length === 0 && r.unknownLeaves === 0 && r.scanMismatches === 0);
  const [small, large] = [results[0], results[results.length - 1]];
  if (small?.frames && large?.frames) {
    const growth = large.frames / large.joined / (small.frames / small.joined);
    console.log(
      `frames per member from ${small.joined} to ${large.joined} members: ×${growth.toFixed(2)} ` +
        `(linear frames: about ×1; O(n²) would be ×${(large.joined / small.joined).toFixed(1)})`,
    );
  }
  for (const r of results) {
    const inTime = r.joined === r.members && r.converged === r.members && r.convergedSeconds <= opts.goalSeconds;
    console.log(
      `goal: ${r.members} joined and every list at ${r.members} within ${opts.goalSeconds} s of the first connect: ` +
        (inTime ? `met (${r.convergedSeconds.toFixed(1)} s)` : 'not met'),
    );
  }
  return { results, ok };
}
