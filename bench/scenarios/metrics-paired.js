/**
 * Scenario `metrics`, paired part: what the metrics cost in server CPU per delivered message,
 * measured so that a busy shared box weighs on both settings alike. Two Tether servers (memory
 * store) run side by side for the whole run, one with `metrics.enabled` false and one with true,
 * each with the same clients (light frame clients in this process, acking once a second). Then
 * short publishing steps alternate between them (off, on, on, off, …): each step's figure is the
 * server's CPU time over the messages it delivered (`stats().delivered`), so a burst of other jobs
 * falls on both settings within seconds. The medians per setting give the ratio.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { table } from '../lib/format.js';
import { FrameClient, socketUrl } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { serverEnv } from '../lib/ladder.js';
import { machineBusy, machineCpu } from '../lib/stats.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CHANNEL = 'bench:metrics';
const TENANT = 'bench';

/** The two kinds of traffic: one channel fanned out to every client, or each message to one random inbox. */
export const PAIRED_KINDS = {
  fanout: { rate: 100, env: {} },
  inbox: { rate: 3000, env: { BENCH_MODE: 'inbox' } },
};

async function connectAll(url, secret, count, kind) {
  const clients = [];
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const connectOne = async (i) => {
    const sub = `bench-${i}`;
    const channel = kind === 'inbox' ? `user:${sub}` : CHANNEL;
    const token = signJwt({ sub, tenant: TENANT, channels: ['bench:*'], exp }, secret);
    const c = { fc: null, high: 0, acked: 0, channel };
    c.fc = new FrameClient({
      url,
      auth: { token, deviceId: `metrics-dev-${i}` },
      onEvent: (event, args) => {
        if (event !== 'msg') return;
        for (const m of args[0].messages) if (m.offset > c.high) c.high = m.offset;
      },
    });
    await c.fc.connect(30_000);
    if (kind !== 'inbox') await c.fc.request('sub', { channel: CHANNEL }, 30_000);
    clients.push(c);
  };
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => connectOne(i + k)));
  }
  const acker = setInterval(() => {
    for (const c of clients) {
      if (c.high <= c.acked) continue;
      c.acked = c.high;
      c.fc.sendRaw(`42["ack",{"acks":{${JSON.stringify(c.channel)}:${c.high}}}]`);
    }
  }, 1000);
  return {
    close: () => {
      clearInterval(acker);
      for (const c of clients) c.fc.close();
    },
  };
}

const deliveredOf = (s) => s.tether.delivered.live + s.tether.delivered.replay + s.tether.delivered.http;
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? null : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * @param {'fanout' | 'inbox'} kind
 * @param {{clients: number, rounds: number, stepSeconds: number, rate?: number, cores: number}} opts
 */
export async function runPaired(kind, opts) {
  const rate = opts.rate ?? PAIRED_KINDS[kind].rate;
  const secret = randomBytes(24).toString('hex');
  const servers = {};
  const conns = [];
  const result = { kind, clients: opts.clients, rate, stepSeconds: opts.stepSeconds, steps: [], errors: [] };
  try {
    for (const setting of ['off', 'on']) {
      servers[setting] = new Child(here('../servers/tether-server.js'), {
        name: `metrics-${setting}`,
        env: {
          ...serverEnv(secret, 'memory', CHANNEL),
          ...PAIRED_KINDS[kind].env,
          BENCH_USERS: String(opts.clients),
          BENCH_SERVER_OPTIONS: JSON.stringify({ metrics: { enabled: setting === 'on' } }),
        },
      });
    }
    // Both at once: a child's `ready` is not kept for a later waitFor.
    const ready = await Promise.all([servers.off.waitFor('ready', 60_000), servers.on.waitFor('ready', 60_000)]);
    for (const { port } of ready)
      conns.push(await connectAll(socketUrl('127.0.0.1', port), secret, opts.clients, kind));
    console.log(
      `\nmetrics, paired ${kind}: ${opts.clients} clients on each server, ${rate} msg/s, ${opts.stepSeconds} s steps`,
    );
    await sleep(1000);
    let step = 0;
    for (let round = 0; round < opts.rounds; round++) {
      // off, on, on, off, off, on…: neither setting always goes first.
      const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      for (const setting of order) {
        const server = servers[setting];
        const before = await server.call('stats');
        const box0 = machineCpu();
        await server.call('step', { step: step++, rate, seconds: opts.stepSeconds }, (opts.stepSeconds + 30) * 1000);
        await sleep(500); // the last frames are written
        const after = await server.call('stats');
        const box = machineBusy(box0, machineCpu(), opts.cores);
        const delivered = deliveredOf(after) - deliveredOf(before);
        const cpuMs = after.cpuMs - before.cpuMs;
        const row = {
          round,
          setting,
          delivered,
          cpuMs,
          cpuUsPerMessage: delivered > 0 ? (cpuMs * 1000) / delivered : null,
          boxBusyPct: box.busy,
        };
        result.steps.push(row);
        console.log(
          `  round ${round + 1} ${setting.padEnd(3)}  delivered ${String(delivered).padStart(8)}  server CPU ${cpuMs.toFixed(0).padStart(5)} ms` +
            `  ${row.cpuUsPerMessage?.toFixed(2) ?? '-'} µs/msg  box ${Math.round(box.busy)}%`,
        );
      }
    }
  } catch (err) {
    result.errors.push(String(err?.message ?? err));
    console.error(`metrics paired ${kind}: ${err?.stack ?? err}`);
  } finally {
    for (const c of conns) c.close();
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  const per = (setting) => result.steps.filter((r) => r.setting === setting && r.cpuUsPerMessage !== null);
  result.medianOff = median(per('off').map((r) => r.cpuUsPerMessage));
  result.medianOn = median(per('on').map((r) => r.cpuUsPerMessage));
  result.cpuRatio = result.medianOff && result.medianOn ? result.medianOn / result.medianOff : null;
  result.boxBusyMedianPct = median(result.steps.map((r) => r.boxBusyPct));
  console.log(
    table(
      ['setting', 'steps', 'median µs CPU / delivered msg', 'min', 'max'],
      ['off', 'on'].map((setting) => {
        const xs = per(setting).map((r) => r.cpuUsPerMessage);
        return [
          setting,
          String(xs.length),
          median(xs)?.toFixed(2) ?? '-',
          xs.length ? Math.min(...xs).toFixed(2) : '-',
          xs.length ? Math.max(...xs).toFixed(2) : '-',
        ];
      }),
    ),
  );
  console.log(
    `metrics on / off, ${kind}: server CPU per delivered message ${result.cpuRatio?.toFixed(3) ?? '-'}× ` +
      `(throughput at saturation ≈ ${result.cpuRatio ? (1 / result.cpuRatio).toFixed(3) : '-'}×; goal ≥ 0.95×); ` +
      `box busy (median) ${Math.round(result.boxBusyMedianPct ?? 0)}%`,
  );
  return result;
}
