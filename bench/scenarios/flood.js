/**
 * Scenario `flood`: does one flooding socket hurt everyone else? A bystander client follows a
 * channel the server publishes to at a steady rate, and its delivery latency (publish → receipt)
 * is measured in windows of equal length:
 *   1. baseline: the server with its default limits, no flood;
 *   2. flood: the same server while one socket publishes as fast as the server answers (the
 *      per-user limit, 200 events/min, refuses nearly all of it with `rate_limited`; after 100
 *      refusals the server cuts the socket, and the flooder reconnects at once, again and again);
 *   3. unlimited: a fresh server with the limits lifted, the same flood (what limits prevent).
 * Windows 1 and 2 alternate for `rounds` rounds and each condition's latencies are merged; each
 * server first runs a short warm-up window that is not counted. The bystander's p99 under the
 * flood should stay under 2× its p99 without.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { FrameClient, socketUrl } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { machineBusy, machineCpu, newHistogram, percentiles, toSparse, mergeSparse } from '../lib/stats.js';
import { TENANT, quietBox, serverEnv } from '../lib/ladder.js';
import { nowMicroseconds } from '../lib/publisher.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export const floodDefaults = {
  /** Messages per second the server publishes to the bystander's channel. */
  rate: 200,
  /** Length of each window. */
  windowSeconds: 5,
  /** Rounds of (baseline window, flood window). */
  rounds: 3,
  /** A window before the measured ones on each server (JIT, first allocations), not counted. */
  warmupSeconds: 3,
  /** Requests the flooder keeps outstanding. */
  inflight: 64,
  /** Before the run, wait up to this long for the box (shared with other jobs) to be busy less than `quietBelowPct`. */
  quietWaitSeconds: 30,
  quietBelowPct: 25,
  /** The flood is "contained" when the bystander's p99 stays under this multiple of the baseline's. */
  maxP99Ratio: 2,
  resultsDir: here('../results/'),
};

const CHANNEL = 'bench:flood';

/** p50 / p99 / max in ms of a histogram of 0.1 ms buckets. */
function latencyMs(merged) {
  const { count, max, pcts } = percentiles(merged, [50, 99]);
  const ms = (tenths) => (tenths === null ? null : tenths / 10);
  return { count, max: ms(max), pcts: { p50: ms(pcts.p50), p99: ms(pcts.p99) } };
}
const SPAM_CHANNEL = 'bench:spam';

/** A bystander: one subscribed client that books each message's latency once (acks so nothing is redelivered). */
async function startBystander(port, secret) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = signJwt({ sub: 'bystander', tenant: TENANT, channels: ['bench:*'], exp }, secret);
  let hist = newHistogram();
  let seen = new Set();
  let last = 0;
  const client = new FrameClient({
    url: socketUrl('127.0.0.1', port),
    auth: { token, deviceId: 'bystander' },
    onEvent: (event, [frame]) => {
      if (event !== 'msg' || frame?.channel !== CHANNEL) return;
      const now = nowMicroseconds();
      for (const m of frame.messages) {
        if (seen.has(m.offset)) continue;
        seen.add(m.offset);
        if (m.offset > last) last = m.offset;
        // Buckets of 0.1 ms: at a p99 of a few ms, 1 ms buckets would make the ratio a coin toss.
        hist[Math.min(hist.length - 1, Math.max(0, Math.round((now - m.data.sentAt) / 100)))]++;
      }
    },
  });
  await client.connect();
  const [reply] = await client.request('sub', { channel: CHANNEL });
  if (reply?.error) throw new Error(`bystander sub refused: ${reply.error.code}`);
  const acker = setInterval(() => client.emit('ack', { acks: { [CHANNEL]: last } }), 100);
  return {
    /** Latency percentiles since the last call, and resets. */
    take() {
      const sparse = toSparse(hist);
      const result = { ...latencyMs(mergeSparse([sparse])), sparse };
      hist = newHistogram();
      seen = new Set();
      return result;
    },
    close() {
      clearInterval(acker);
      client.close();
    },
  };
}

/** One window: the server publishes at `rate` for `seconds`, optionally while the flooder floods. */
async function window(label, { server, port, secret, bystander, flooder, flooderSub = 'flooder' }, opts) {
  bystander.take();
  const flooding = flooder
    ? flooder.call(
        'flood',
        {
          host: '127.0.0.1',
          port,
          secret,
          tenant: TENANT,
          channel: SPAM_CHANNEL,
          seconds: opts.windowSeconds + 1,
          inflight: opts.inflight,
          sub: flooderSub,
        },
        (opts.windowSeconds + 30) * 1000,
      )
    : Promise.resolve(null);
  if (flooder) await sleep(500); // the flood is on before the window starts
  const before = await server.call('stats');
  const box0 = machineCpu();
  const step = await server.call(
    'step',
    { step: 1, rate: opts.rate, seconds: opts.windowSeconds, microseconds: true },
    (opts.windowSeconds + 30) * 1000,
  );
  await sleep(300); // the last messages arrive
  const latency = bystander.take();
  const after = await server.call('stats');
  const box = machineBusy(box0, machineCpu(), opts.cores).busy;
  const flood = await flooding;
  const rateLimited = after.tether.rateLimited.events - before.tether.rateLimited.events;
  const cut = after.tether.rateLimited.disconnects - before.tether.rateLimited.disconnects;
  const row = {
    label,
    published: step.published,
    received: latency.count,
    p50: latency.pcts.p50,
    p99: latency.pcts.p99,
    max: latency.max,
    flood,
    serverRateLimitedEvents: rateLimited,
    serverDisconnects: cut,
    serverCpuPct: Math.round(((after.cpuMs - before.cpuMs) / (after.at - before.at)) * 100),
    boxBusyPct: box === null ? null : Math.round(box),
    eventLoopDelayP99Ms: Math.round(step.eventLoopDelayMs.p99 * 10) / 10,
    sparse: latency.sparse,
  };
  console.log(
    `  ${label.padEnd(10)} bystander p50 ${row.p50} ms, p99 ${row.p99} ms, max ${row.max} ms ` +
      `(${row.received}/${row.published} received), server CPU ${row.serverCpuPct}%, box ${row.boxBusyPct}%` +
      (flood
        ? `; flooder sent ${flood.sent} (${flood.perSecond}/s): ${flood.accepted} accepted, ${flood.rateLimited} rate_limited` +
          (flood.firstRetryAfterMs !== null ? ` (retryAfterMs ${flood.firstRetryAfterMs})` : '') +
          `; ${flood.connects} connections, ${flood.cut} cut by the server, ${flood.connectsRefused} attempts refused; ` +
          `flooder CPU ${flood.cpuPct}%`
        : ''),
  );
  return row;
}

/**
 * The warm-up window floods too, from another user: the first refusals, cuts and refused
 * reconnects of a process compile their code paths once (tens of ms), a cost of the process's first
 * flood ever, not of each one; the measured windows then see what any later flooder costs.
 */
function warmUp(ctx) {
  return { ...ctx, flooderSub: 'warm-up-flooder' };
}

async function startServer(secret, limits) {
  const env = { ...serverEnv(secret, 'memory', CHANNEL), BENCH_LIMITS: JSON.stringify(limits) };
  const server = new Child(here('../servers/tether-server.js'), { name: 'tether', env });
  const { port } = await server.waitFor('ready');
  return { server, port };
}

/** @param {typeof floodDefaults} opts */
export async function runFlood(opts) {
  const secret = randomBytes(24).toString('base64url');
  const flooder = new Child(here('../workers/flooder.js'), { name: 'flooder' });
  const rows = [];
  const busy = await quietBox({
    quietWaitSeconds: opts.quietWaitSeconds,
    quietBelowPct: opts.quietBelowPct,
    cores: opts.cores,
  });
  console.log(`  box busy ${busy === null ? '-' : Math.round(busy)}% (of ${opts.cores * 100}%) before the run`);
  try {
    // Baseline and flood windows alternate on one server with the default limits (`{}`), so that
    // the other jobs sharing this box weigh on both alike; each condition's windows are merged.
    {
      const { server, port } = await startServer(secret, {});
      const bystander = await startBystander(port, secret);
      const ctx = { server, port, secret, bystander, flooder };
      await window('warm-up', warmUp(ctx), { ...opts, windowSeconds: opts.warmupSeconds });
      for (let round = 1; round <= opts.rounds; round++) {
        rows.push(await window('baseline', { ...ctx, flooder: undefined }, opts));
        rows.push(await window('flood', ctx, opts));
      }
      bystander.close();
      await server.stop();
    }
    // Then a fresh server with the limits lifted (0 = off), the same flood, for comparison.
    {
      const lifted = { eventsPerMinutePerUser: 0, eventsPerMinutePerConnection: 0, maxRefusalsPerConnection: 0 };
      const { server, port } = await startServer(secret, lifted);
      const bystander = await startBystander(port, secret);
      const ctx = { server, port, secret, bystander, flooder };
      await window('warm-up', warmUp(ctx), { ...opts, windowSeconds: opts.warmupSeconds });
      rows.push(await window('unlimited', ctx, opts));
      bystander.close();
      await server.stop();
    }
  } finally {
    await flooder.stop();
  }
  const merged = (label) => {
    const of = rows.filter((r) => r.label === label);
    const p = latencyMs(mergeSparse(of.map((r) => r.sparse)));
    return { windows: of.length, received: p.count, p50: p.pcts.p50, p99: p.pcts.p99, max: p.max };
  };
  const baseline = merged('baseline');
  const flood = merged('flood');
  const unlimited = merged('unlimited');
  for (const r of rows) delete r.sparse;
  const ratio = baseline.p99 > 0 ? flood.p99 / baseline.p99 : null;
  const floods = rows.filter((r) => r.label === 'flood');
  const accepted = floods.reduce((n, r) => n + r.flood.accepted, 0);
  const refused = floods.reduce((n, r) => n + r.flood.rateLimited + r.flood.connectsRefused, 0);
  const limited = refused > 0 && accepted <= 200;
  const contained = ratio !== null && ratio < opts.maxP99Ratio;
  console.log(
    `\nflood: bystander p99 ${baseline.p99} ms without the flood → ${flood.p99} ms with it, limited ` +
      `(×${ratio?.toFixed(2) ?? '-'}, bound ×${opts.maxP99Ratio}: ${contained ? 'held' : 'NOT held'}); ` +
      `${unlimited.p99} ms with the limits lifted. Flooder: ${accepted} publishes accepted, ${refused} refusals ` +
      `(rate_limited events and refused reconnects): ${limited ? 'limited' : 'NOT limited'}.`,
  );
  return { results: rows, summary: { baseline, flood, unlimited }, ratio, contained, limited };
}
