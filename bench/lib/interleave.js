/**
 * Systems' ladders run rung by rung, taking turns (`--interleave`, inbox and ingress): every
 * system's server, load and clients are set up first and warmed up, then each rate runs on each
 * system in turn (forward on one rung, backward on the next), so that the steps compared at a
 * rate ran within seconds of each other.
 *
 * Why: this VM's two vCPUs differ by up to ~1.5× for minutes at a time, and which one is slow
 * moves (bench/README.md, session 13). Run one after the other, the systems' ladders are minutes
 * apart, and a slow minute falls on one of them only; rung by rung, it falls on every system's
 * step of that rate alike. The systems not stepping sit idle meanwhile (their clients connected,
 * their servers answering heartbeats).
 */
import { ladderSteps } from './ladder.js';

/**
 * @typedef {object} SteppedSystem
 * @property {string} name
 * @property {{errors: string[]}} result
 * @property {() => Promise<Parameters<typeof ladderSteps>[0]>} open starts its processes, connects
 *   its clients, answers the ladder's arguments
 * @property {() => Promise<void>} finish the final recount and end figures
 * @property {() => Promise<unknown>} stop stops every process it started
 */

/**
 * Runs the systems' ladders interleaved; a system that fails (an error in any part) is dropped
 * from the turns with the error in its result, the others go on. Every system is stopped at the end.
 * @template {SteppedSystem} S
 * @param {S[]} systems in the order of the first rung
 * @param {Parameters<typeof ladderSteps>[1]} opts
 * @returns {Promise<Array<S['result']>>}
 */
export async function runInterleaved(systems, opts) {
  /** @type {Array<{system: S, ladder: ReturnType<typeof ladderSteps> | null}>} */
  const runs = systems.map((system) => ({ system, ladder: null }));
  /** Runs `part` of one system; a failure is recorded and drops the system. */
  const attempt = async (/** @type {typeof runs[number]} */ run, /** @type {() => Promise<void>} */ part) => {
    try {
      await part();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      run.system.result.errors.push(message);
      console.log(`  ${run.system.name} failed: ${message}`);
      run.ladder = null;
    }
  };
  const live = () => runs.filter((run) => run.ladder !== null && !run.ladder.stopped);
  try {
    for (const run of runs) {
      await attempt(run, async () => {
        run.ladder = ladderSteps(await run.system.open(), opts);
      });
    }
    console.log(`\n  interleaved: ${live().length} systems take turns at every rate`);
    for (const run of live()) await attempt(run, async () => void (await run.ladder?.warmup()));
    for (let i = 0; i < opts.rates.length && live().length > 0; i++) {
      const turn = i % 2 === 1 ? live().reverse() : live();
      for (const run of turn) await attempt(run, async () => run.ladder?.step(i));
    }
    for (const run of runs) if (run.ladder !== null) await attempt(run, () => run.system.finish());
  } finally {
    await Promise.all(systems.map((system) => system.stop()));
  }
  return systems.map((system) => system.result);
}
