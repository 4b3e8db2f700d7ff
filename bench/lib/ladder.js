/**
 * Running a load scenario's rate ladder, the parts every scenario shares: waiting for a quiet box,
 * the server environment and the loaders' `connect`, one step after the other (publish, drain,
 * report), the final recount of losses and duplicates, and picking the kept-up step.
 * What is measured in a step is the scenario's (lib/step.js helps); the order of the calls here is
 * the method the README describes, so it lives in one place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { machineBusy, machineCpu } from './stats.js';
import { fmtPct } from './format.js';

/** @typedef {import('./rpc.js').Child} Child */
/** @typedef {import('./step.js').StepPublish} StepPublish */
/** @typedef {import('./step.js').LoaderReport} LoaderReport */

/** Every bench client belongs to this tenant; its token grants `bench:*`. */
export const TENANT = 'bench';

/**
 * Other engineers' jobs share this box: measure the background load before a system (or layout)
 * runs and wait (bounded) for it to calm down, so that what is compared ran on a similar machine.
 * @param {{quietWaitSeconds: number, quietBelowPct: number, cores: number}} opts
 * @returns {Promise<number | null>} the box's busy share (% of one core) at the last reading
 */
export async function quietBox(opts) {
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

/**
 * Environment of a server process (servers/*.js): the JWT secret the loaders sign with, the store,
 * the channel its publisher uses.
 * @param {string} secret
 * @param {string} store `memory`, `sqlite` or a `redis://` URL
 * @param {string} channel
 */
export function serverEnv(secret, store, channel) {
  return {
    ...process.env,
    BENCH_JWT_SECRET: secret,
    BENCH_STORE: store,
    BENCH_CHANNEL: channel,
    BENCH_TENANT: TENANT,
    NODE_ENV: 'production',
  };
}

/**
 * Has a loader connect `count` clients (indices from `startIndex`) to one server and subscribe them.
 * The loader answers with the clients it holds in all, not only these.
 * @param {Child} loader
 * @param {{url: string, channel: string, secret: string, startIndex: number, count: number, inbox?: boolean}} to
 *   `inbox`: each client reads its own inbox `user:bench-<idx>` (scenario `inbox`)
 * @param {{connectConcurrency: number, parse: string}} opts
 * @returns {Promise<{connected: number, failed: number, errors: string[]}>}
 */
export function connectClients(loader, to, opts) {
  return loader.call(
    'connect',
    {
      url: to.url,
      channel: to.channel,
      channels: ['bench:*'],
      tenant: TENANT,
      secret: to.secret,
      startIndex: to.startIndex,
      count: to.count,
      concurrency: opts.connectConcurrency,
      // The SDK's default (`ackIntervalMs`); `BENCH_ACK_INTERVAL_MS` for another (e.g. 1000, the default before session 9).
      ackIntervalMs: Number(process.env.BENCH_ACK_INTERVAL_MS ?? 2000),
      inbox: to.inbox ?? false,
      parse: opts.parse,
      timeoutMs: 20_000,
    },
    180_000,
  );
}

/**
 * The result file's `connect` figures.
 * @param {number} connected clients held by the loaders
 * @param {Array<{failed: number, errors: string[]}>} outcomes every `connect` answer
 * @param {number} t0 `performance.now()` before the first `connect`
 */
export function connectResult(connected, outcomes, t0) {
  return {
    connected,
    failed: outcomes.reduce((a, c) => a + c.failed, 0),
    seconds: (performance.now() - t0) / 1000,
    errors: outcomes.flatMap((c) => c.errors).slice(0, 5),
  };
}

/**
 * Waits until every live client has handled every offset up to `last`, or `seconds` have passed.
 * @param {Child[]} workers
 * @param {number} last
 * @param {number} seconds
 * @param {number} step the step's index (inbox loaders look their clients' own targets up by it)
 * @returns {Promise<number>} how long it took (ms)
 */
async function drain(workers, last, seconds, step) {
  const drainStart = Date.now();
  while (Date.now() - drainStart < seconds * 1000) {
    const p = await Promise.all(workers.map((w) => w.call('progress', { target: last, step })));
    if (p.reduce((a, x) => a + x.reached, 0) >= p.reduce((a, x) => a + x.alive, 0)) break;
    await sleep(100);
  }
  return Date.now() - drainStart;
}

/**
 * @param {Child[]} workers
 * @param {{step: number, first: number, last: number, t0: number, t1: number}} args
 * @returns {Promise<LoaderReport[]>}
 */
const reportAll = (workers, args) => Promise.all(workers.map((w) => w.call('report', args, 60_000)));

/**
 * What a scenario's row builder gets for one step.
 * @template S, D
 * @typedef {{i: number, rate: number, pub: StepPublish, before: S, after: S, reports: LoaderReport[],
 *   drainMs: number, drained: D}} StepData
 */

/**
 * Step id of the warm-up (`opts.warmupSeconds`): its messages carry it in their payload, so that the
 * loaders count them apart from the measured steps (whose ids are their indexes).
 */
export const WARMUP_STEP = 999;

/**
 * Runs the rate ladder: per rate, a reading of every process, the publish window, another reading,
 * the drain, the loaders' reports and the server counters after the drain; stops after
 * `opts.maxFails` failed steps in a row or when nothing could be published.
 * With `opts.warmupSeconds` > 0, a warm-up step at the first rate runs first, measured the same way
 * but kept apart (`result.warmup`, never the kept-up step): the ladder is about the steady state,
 * and the first seconds after thousands of connects (code not yet optimised in the server and the
 * loaders, the first acks) are the storm's subject, not the ladder's. Every system gets it.
 * @template S, D
 * @template {{keptUp: boolean}} R
 * @param {object} a
 * @param {Child[]} a.workers the loaders
 * @param {Child} a.publisher the process whose publisher runs the steps
 * @param {() => Promise<S>} a.snapshot readings of every process, taken around the publish window
 * @param {() => Promise<D>} a.drained the server counters once the step has drained
 * @param {(d: StepData<S, D>) => R} a.row builds the step's result row
 * @param {(row: R) => void} a.print
 * @param {{steps: R[], errors: string[], warmup?: R}} a.result steps and errors are appended here
 * @param {(pub: StepPublish, i: number) => Promise<unknown>} [a.afterPublish] before the drain (inbox: each
 *   loader is told its clients' expected offsets)
 * @param {{rates: number[], stepSeconds: number, drainSeconds: number, maxFails: number, warmupSeconds?: number}} opts
 */
export async function runLadder(a, opts) {
  const ladder = ladderSteps(a, opts);
  if (!(await ladder.warmup())) return;
  for (let i = 0; i < opts.rates.length && !ladder.stopped; i++) await ladder.step(i);
}

/**
 * The ladder of `runLadder` a step at a time, for runs that take turns between systems
 * (lib/interleave.js): `warmup()` (false when nothing could be published), then `step(i)` for each
 * rate until `stopped` (after `opts.maxFails` failed steps in a row, or nothing published).
 * @template S, D
 * @template {{keptUp: boolean}} R
 * @param {Parameters<typeof runLadder>[0]} a
 * @param {Parameters<typeof runLadder>[1]} opts
 */
export function ladderSteps(a, opts) {
  const { result } = a;
  let fails = 0;
  let stopped = false;
  return {
    get stopped() {
      return stopped;
    },
    async warmup() {
      if (!opts.warmupSeconds || opts.rates.length === 0) return true;
      console.log(`  warm-up: ${opts.warmupSeconds} s at ${opts.rates[0]}/s, not counted`);
      const r = await runStep(a, WARMUP_STEP, opts.rates[0], opts.warmupSeconds, opts);
      if (r === null) {
        stopped = true;
        return false;
      }
      result.warmup = r;
      a.print(r);
      await sleep(1000);
      return true;
    },
    /** @param {number} i the rate's index */
    async step(i) {
      if (stopped) return;
      const r = await runStep(a, i, opts.rates[i], opts.stepSeconds, opts);
      if (r === null) {
        stopped = true;
        return;
      }
      result.steps.push(r);
      a.print(r);
      fails = r.keptUp ? 0 : fails + 1;
      if (fails >= opts.maxFails) stopped = true;
      // Let the last acks of the step land before the next one starts.
      else await sleep(1000);
    },
  };
}

/**
 * One step of the ladder (step id `i`): readings, publish window, readings, drain, reports; null
 * when nothing could be published (the error is in `result.errors`).
 * @template S, D
 * @template {{keptUp: boolean}} R
 * @param {Parameters<typeof runLadder>[0]} a
 * @param {number} i
 * @param {number} rate
 * @param {number} seconds
 * @param {{drainSeconds: number}} opts
 * @returns {Promise<R | null>}
 */
async function runStep({ workers, publisher, snapshot, drained, row, result, afterPublish }, i, rate, seconds, opts) {
  const before = await snapshot();
  /** @type {StepPublish} */
  const pub = await publisher.call('step', { step: i, rate, seconds }, (seconds + 60) * 1000);
  const after = await snapshot();
  // `first` and `last` are null together: nothing published in the window.
  if (pub.first === null) {
    result.errors.push(`step ${i}: nothing published (${pub.errors} errors: ${pub.firstError})`);
    console.log(`  rate ${rate}: nothing published: ${pub.firstError}`);
    return null;
  }
  if (afterPublish) await afterPublish(pub, i);
  const drainMs = await drain(workers, /** @type {number} */ (pub.last), opts.drainSeconds, i);
  const reports = await reportAll(workers, { step: i, first: pub.first, last: pub.last, t0: pub.t0, t1: pub.t1 });
  return row({ i, rate, pub, before, after, reports, drainMs, drained: await drained() });
}

/**
 * Late redeliveries would land after a step's report: counts losses and duplicates of every step
 * (the warm-up's too) once more, at the end of the run, into `lostFinal` and `dupOffsetsFinal`
 * (and `dupsSeenFinal`, the extra receipts, with `dupsSeenAckingFinal` and `appDupsFinal`, when
 * asked for).
 * @param {Child[]} workers
 * @param {{steps: RecountRow[], warmup?: RecountRow}} result
 * @param {{dupsSeen?: boolean}} [what]
 */
export async function recountFinal(workers, result, what = {}) {
  await sleep(1500);
  const rows = [...result.steps.entries()];
  if (result.warmup) rows.push([WARMUP_STEP, result.warmup]);
  for (const [i, row] of rows) {
    const reports = await reportAll(workers, { step: i, first: row.offsets[0], last: row.offsets[1], t0: 0, t1: 0 });
    row.lostFinal = reports.reduce((a, r) => a + r.lost, 0);
    row.dupOffsetsFinal = reports.reduce((a, r) => a + r.dupOffsets, 0);
    if (what.dupsSeen) {
      row.dupsSeenFinal = reports.reduce((a, r) => a + r.dupsSeen, 0);
      row.dupsSeenAckingFinal = reports.reduce((a, r) => a + (r.dupsSeenAcking ?? 0), 0);
      row.appDupsFinal = reports.reduce((a, r) => a + (r.appDups ?? 0), 0);
    }
  }
}

/**
 * @typedef {{offsets: Array<number | null>, lostFinal?: number, dupOffsetsFinal?: number, dupsSeenFinal?: number,
 *   dupsSeenAckingFinal?: number, appDupsFinal?: number}} RecountRow
 */

/**
 * The kept-up step with the most delivered msg/s (null when none kept up).
 * @template {{keptUp: boolean, delivered: number}} R
 * @param {R[]} steps
 * @returns {R | null}
 */
export function bestKeptUp(steps) {
  const keptUp = steps.filter((s) => s.keptUp);
  return keptUp.length ? keptUp.reduce((a, b) => (b.delivered > a.delivered ? b : a)) : null;
}

/**
 * The step of `a` at the highest rate both `a` and `b` kept up with: where their latency or CPU
 * can be compared at the same load.
 * @template {{keptUp: boolean, rate: number}} R
 * @param {{steps: R[]}} a
 * @param {{steps: R[]}} b
 * @returns {R | null}
 */
export function lastCommonKeptUp(a, b) {
  const common = a.steps.filter((s) => s.keptUp && b.steps.some((x) => x.keptUp && x.rate === s.rate));
  return common.at(-1) ?? null;
}

/**
 * The end of one system's (or layout's) ladder, as every load scenario closes it: the final
 * recount, the end readings, the loaders' figures and the kept-up step.
 * @template {{workers: Array<{rss: number, counters: unknown}>}} E
 * @param {Child[]} workers
 * @param {{steps: any[], warmup?: any, loader?: unknown, keptUp?: unknown}} result
 * @param {() => Promise<E>} endSnapshot readings of every process
 * @param {{dupsSeen?: boolean}} [what] as `recountFinal`
 * @returns {Promise<E>} the end readings, for the scenario's own server figures
 */
export async function finishLadder(workers, result, endSnapshot, what = {}) {
  await recountFinal(workers, result, what);
  const end = await endSnapshot();
  result.loader = end.workers.map((w) => ({ rss: w.rss, counters: w.counters }));
  result.keptUp = bestKeptUp(result.steps);
  return end;
}

/**
 * Runs one system's (or layout's) `body`: a failure goes into `result.errors` and onto the console
 * under `label`, and `stop` stops the run's processes whatever happened.
 * @template {{errors: string[]}} R
 * @param {R} result
 * @param {string} label
 * @param {() => Promise<unknown>} stop
 * @param {() => Promise<void>} body
 * @returns {Promise<R>}
 */
export async function guardedRun(result, label, stop, body) {
  try {
    await body();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    result.errors.push(message);
    console.log(`  ${label} failed: ${message}`);
  } finally {
    await stop();
  }
  return result;
}

/**
 * Stops the loaders and the server processes of a run (each by PID, bounded in time).
 * @param {Child[]} workers
 * @param {Child[]} servers
 */
export async function stopProcesses(workers, servers) {
  await Promise.all([...workers.map((w) => w.stop(5000)), ...servers.map((s) => s.stop(8000))]);
}
