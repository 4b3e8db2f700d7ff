/**
 * Console output every load scenario shares: the per-step progress line, the summary table's
 * common cells, the contention footnote and the kept-up line. The columns a scenario adds (its
 * processes' CPU, its server counters) stay in the scenario; these keep the shared figures printed
 * the same way everywhere.
 */
import { fmtInt, fmtMs, fmtPct } from './format.js';
import { dupOf, lostOf } from './step.js';

/** A step whose "other" CPU (none of the measured processes) is above this is marked as contended. */
export const CONTENDED_PCT = 40;

/**
 * @typedef {{rate: number, target: number, delivered: number, deliveredShare: number,
 *   p50: number | null, p95: number | null, p99: number | null, lostAtDrain: number, dupOffsets: number,
 *   lostFinal?: number, dupOffsetsFinal?: number, machineCpuPct: number | null, otherCpuPct: number | null,
 *   msgsPerFrame: number | null, keptUp: boolean}} Row
 */

/**
 * One step's progress line, printed as soon as the step is measured.
 * @param {string} label who ran the step, padded by the caller to line up
 * @param {Row} r
 * @param {string} cpu the scenario's own processes' CPU, e.g. `srv 40% ldr 30%`
 */
export function printStepLine(label, r, cpu) {
  console.log(
    `  ${label} rate ${String(r.rate).padStart(4)}/s  target ${fmtInt(r.target).padStart(9)}  ` +
      `delivered ${fmtInt(r.delivered).padStart(9)} (${fmtPct(r.deliveredShare * 100)})  ` +
      `p50/p95/p99 ${fmtMs(r.p50)}/${fmtMs(r.p95)}/${fmtMs(r.p99)} ms  lost ${r.lostAtDrain}  dup ${r.dupOffsets}  ` +
      `cpu ${cpu} box ${fmtPct(r.machineCpuPct)} (other ${fmtPct(r.otherCpuPct)})  ${r.keptUp ? 'ok' : 'FAIL'}`,
  );
}

/**
 * Summary-table cells of the shared figures.
 * @param {Row} s
 */
export function commonCells(s) {
  return {
    target: fmtInt(s.target),
    delivered: fmtInt(s.delivered),
    share: fmtPct(s.deliveredShare * 100),
    lost: lostOf(s),
    dup: dupOf(s),
    box: `${fmtPct(s.machineCpuPct)} (${fmtPct(s.otherCpuPct)})`,
    msgsPerFrame: s.msgsPerFrame === null ? '-' : s.msgsPerFrame.toFixed(1),
    keptUp: (s.keptUp ? 'yes' : 'no') + ((s.otherCpuPct ?? 0) > CONTENDED_PCT ? '*' : ''),
  };
}

/**
 * The footnote for starred steps, printed under the table when there is one.
 * @param {Array<{steps: Row[]}>} results
 */
export function printContendedNote(results) {
  if (results.some((r) => r.steps.some((x) => (x.otherCpuPct ?? 0) > CONTENDED_PCT))) {
    console.log(`* other processes or kernel work took more than ${CONTENDED_PCT}% of a core during that step`);
  }
}

/**
 * `kept up …` for the closing lines of a run.
 * @param {Row | null} k the best kept-up step
 */
export const keptUpText = (k) =>
  `kept up ${k ? `${fmtInt(k.delivered)} msg/s (rate ${k.rate}/s, p50 ${k.p50} / p99 ${k.p99} ms)` : 'nothing'}`;

/** @param {string[]} errors */
export const errorsText = (errors) => (errors.length ? `; errors: ${errors.join(' | ')}` : '');

/**
 * The summary table's rows: one per step of every result, made by `cells` from the result, the
 * step and the step's shared cells (`commonCells`).
 * @template {{steps: Row[]}} R
 * @param {R[]} results
 * @param {(r: R, s: R['steps'][number], c: ReturnType<typeof commonCells>) => Array<string | number>} cells
 */
export function stepRows(results, cells) {
  return results.flatMap((r) => r.steps.map((s) => cells(r, s, commonCells(s))));
}
