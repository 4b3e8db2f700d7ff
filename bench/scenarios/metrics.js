/**
 * Scenario `metrics`: what the Prometheus metrics cost. Two measurements:
 * - `paired` (parts `fanout`, `inbox`; metrics-paired.js): both settings' servers side by side,
 *   steps alternating between them, server CPU per delivered message: robust on a busy box.
 * - `ladder` (parts `ladder-fanout`, `ladder-inbox`): the throughput ladders below.
 *
 * The ladders:  The same Tether server (memory store) with
 * `metrics.enabled` false and true, in one run, alternating off, on, off, on (two runs each, so a
 * burst of the shared box's other jobs does not fall on one setting only): the fan-out ladder
 * (C clients on one channel) and the inbox ladder (one message to one random user's inbox).
 * Compared: the kept-up throughput (delivered msg/s of the best kept-up step), and the server's CPU
 * time per delivered message at the highest rate every run delivered (≥ 95 % of its target): on a
 * box busy with other jobs no run may keep up, and CPU time per message still says what the
 * metrics cost. Goal: on within 5 % of off.
 */
import { fmtInt, fmtPct, table } from '../lib/format.js';
import { fanoutDefaults, runSystem as runFanoutSystem } from './fanout.js';
import { INBOX_SYSTEMS, inboxDefaults, runInboxSystem } from './inbox.js';
import { runPaired } from './metrics-paired.js';

export const METRICS_PARTS = ['fanout', 'inbox', 'both', 'ladder-fanout', 'ladder-inbox', 'ladders'];

export const metricsDefaults = {
  /** One of METRICS_PARTS: `both` is the paired fanout and inbox measurements. */
  part: 'both',
  /** The paired measurement: clients per server, alternating rounds (each one step per setting), step length. */
  paired: { clients: 500, rounds: 6, stepSeconds: 3 },
  runs: 2,
  fanout: { clients: 2000, rates: [40, 80, 160, 320, 480, 640], stepSeconds: 3 },
  inbox: { clients: 2000, rates: [4000, 8000, 12000, 16000, 20000, 24000], stepSeconds: 3 },
  quietWaitSeconds: 10,
};

const SETTINGS = { off: { enabled: false }, on: { enabled: true } };

/** The setting's runs, off and on alternating: off, on, off, on… */
function order(runs) {
  return Array.from({ length: runs }, () => ['off', 'on']).flat();
}

/** A step whose deliveries reached 95 % of its target (kept up or not on latency). */
const delivered = (step) => step.deliveredShare >= 0.95;

/** Server CPU time per delivered message, µs (`serverCpuPct` is % of one core; `delivered` msg/s). */
const cpuUsPerMessage = (step) => (step && step.delivered > 0 ? (step.serverCpuPct * 1e4) / step.delivered : null);

/**
 * Kept-up throughput and CPU per message at a common rate, by setting.
 * @param {Array<{setting: string, result: any}>} runs
 */
function compare(runs) {
  const by = (setting) => runs.filter((r) => r.setting === setting).map((r) => r.result);
  const keptUp = (results) => results.map((r) => r.keptUp?.delivered ?? 0);
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  // The highest rate every run delivered: CPU per message compared at the same load.
  const rates = runs.map((r) => new Set(r.result.steps.filter(delivered).map((s) => s.rate)));
  const common = [...(rates[0] ?? [])].filter((rate) => rates.every((set) => set.has(rate))).sort((a, b) => a - b);
  const at = common.at(-1) ?? null;
  const cpuAt = (results) => results.map((r) => cpuUsPerMessage(r.steps.find((s) => s.rate === at)));
  const off = by('off');
  const on = by('on');
  const summary = {
    keptUpOff: keptUp(off),
    keptUpOn: keptUp(on),
    cpuRate: at,
    cpuOff: at === null ? [] : cpuAt(off),
    cpuOn: at === null ? [] : cpuAt(on),
  };
  const throughputRatio = mean(summary.keptUpOff) ? mean(summary.keptUpOn) / mean(summary.keptUpOff) : null;
  const cpuRatio = at !== null && mean(summary.cpuOff) ? mean(summary.cpuOn) / mean(summary.cpuOff) : null;
  return { ...summary, throughputRatio, cpuRatio };
}

function report(title, runs, c) {
  console.log(`\n${title}`);
  console.log(
    table(
      [
        'run',
        'setting',
        'kept up at',
        'delivered/s',
        `server CPU at ${c.cpuRate ?? '-'}/s`,
        'µs CPU / msg',
        'box busy before',
        'errors',
      ],
      runs.map((r, i) => {
        const step = r.result.steps.find((s) => s.rate === c.cpuRate);
        return [
          String(i + 1),
          r.setting,
          r.result.keptUp ? `${fmtInt(r.result.keptUp.rate)}/s` : 'none',
          r.result.keptUp ? fmtInt(r.result.keptUp.delivered) : '-',
          step ? fmtPct(step.serverCpuPct) : '-',
          step ? cpuUsPerMessage(step).toFixed(2) : '-',
          fmtPct(r.result.backgroundCpuPct),
          String(r.result.errors.length),
        ];
      }),
    ),
  );
  const ratio = (x) => (x === null ? '-' : `${x.toFixed(3)}×`);
  console.log(
    `metrics on / off: kept-up throughput ${ratio(c.throughputRatio)}, server CPU per message at ${c.cpuRate ?? '-'}/s ${ratio(c.cpuRatio)}` +
      ' (goal: throughput ≥ 0.95×, CPU ≤ 1.05×)',
  );
}

/** @param {typeof metricsDefaults & {stamp: string, cores: number}} opts */
export async function runMetrics(opts) {
  const out = {};
  for (const kind of ['fanout', 'inbox']) {
    if (opts.part === kind || opts.part === 'both')
      out[`paired-${kind}`] = await runPaired(kind, { ...opts.paired, cores: opts.cores });
  }
  if (opts.part === 'ladder-fanout' || opts.part === 'ladders') {
    const runs = [];
    for (const setting of order(opts.runs)) {
      const fanoutOpts = {
        ...fanoutDefaults,
        ...opts.fanout,
        quietWaitSeconds: opts.quietWaitSeconds,
        stamp: opts.stamp,
        cores: opts.cores,
        resultsDir: fanoutDefaults.resultsDir,
      };
      runs.push({ setting, result: await runFanoutSystem(`tether-metrics-${setting}`, fanoutOpts) });
    }
    out.fanout = { runs, ...compare(runs) };
    report(
      `metrics, fanout: ${opts.fanout.clients} clients on one channel, ${opts.fanout.stepSeconds} s steps`,
      runs,
      out.fanout,
    );
  }
  if (opts.part === 'ladder-inbox' || opts.part === 'ladders') {
    const runs = [];
    for (const setting of order(opts.runs)) {
      const base = INBOX_SYSTEMS['tether-memory'];
      const sys = {
        ...base,
        label: `tether, memory store, metrics ${setting}`,
        env: { ...base.env, BENCH_SERVER_OPTIONS: JSON.stringify({ metrics: SETTINGS[setting] }) },
      };
      const inboxOpts = { ...inboxDefaults, ...opts.inbox, quietWaitSeconds: opts.quietWaitSeconds, cores: opts.cores };
      runs.push({ setting, result: await runInboxSystem(`metrics-${setting}`, sys, inboxOpts) });
    }
    out.inbox = { runs, ...compare(runs) };
    report(
      `metrics, inbox: ${opts.inbox.clients} users, one message to one random inbox, ${opts.inbox.stepSeconds} s steps`,
      runs,
      out.inbox,
    );
  }
  return out;
}
