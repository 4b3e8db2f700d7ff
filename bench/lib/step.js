/**
 * Measuring one step of a rate ladder, the parts every load scenario shares: CPU deltas between two
 * readings, the delivery and latency figures from the loaders' reports, per-(client, offset)
 * completeness, and the verdict. A scenario builds its result row from these pieces and adds only
 * its own fields (which processes it runs, which server counters it reads), so that a figure means
 * the same thing in every scenario's result file.
 */
import { mergeSparse, percentiles } from './stats.js';

/**
 * A process's CPU reading, as `usage()` (lib/rpc.js) and the servers' `stats` answer.
 * @typedef {{cpuMs: number, at: number}} CpuReading
 */

/**
 * What the publisher answers to `step` (lib/publisher.js).
 * @typedef {{t0: number, t1: number, published: number, errors: number, firstError: string | null,
 *   first: number | null, last: number | null, contiguous: boolean, maxPublishLagMs: number,
 *   eventLoopDelayMs: unknown, http?: {latencyMs: {p50: number, p99: number, max: number}, non2xx: number}}} StepPublish
 */

/**
 * What a loader answers to `report` (workers/loader.js); only the fields read here.
 * @typedef {{hist: Array<[number, number]>, inWindow: number, unique: number, lost: number,
 *   complete: number, dupOffsets: number, dupsSeen: number, dupsSeenAcking?: number, appDups?: number,
 *   frames: number}} LoaderReport
 */

/**
 * CPU used between two readings, in % of one core (a process can pass 100 % with helper threads).
 * Null when a reading is missing (e.g. redis-server's /proc entry could not be read).
 * @param {CpuReading | null | undefined} a
 * @param {CpuReading | null | undefined} b
 * @returns {number | null}
 */
export function cpuPct(a, b) {
  if (a === null || b === null || a === undefined || b === undefined) return null;
  const dt = b.at - a.at;
  return dt > 0 ? ((b.cpuMs - a.cpuMs) / dt) * 100 : null;
}

/**
 * The loaders' CPU over the publish window: per process, in all, and the busiest one (a single
 * saturated loader would cap the measurement while the sum still looks low).
 * @param {CpuReading[]} before
 * @param {CpuReading[]} after
 */
export function loaderCpu(before, after) {
  const pcts = before.map((w, i) => cpuPct(w, after[i]));
  return { pcts, sum: pcts.reduce((a, b) => a + (b ?? 0), 0), max: Math.max(...pcts) };
}

/**
 * Sums one numeric field over the loaders' reports.
 * @param {LoaderReport[]} reports
 * @param {keyof LoaderReport} key
 */
export const sumReports = (reports, key) => reports.reduce((a, r) => a + /** @type {number} */ (r[key]), 0);

/**
 * Delivery and latency over the publish window, and what the publisher did. Delivered counts first
 * receipts inside the window only, so a backlog drained after the window does not inflate it.
 * @param {number} rate messages per second published
 * @param {number} clients clients connected (delivered is measured against rate × clients)
 * @param {StepPublish} pub
 * @param {LoaderReport[]} reports
 */
export function measureStep(rate, clients, pub, reports) {
  const window = (pub.t1 - pub.t0) / 1000;
  const lat = percentiles(mergeSparse(reports.map((r) => r.hist)), [50, 95, 99]);
  const target = rate * clients;
  const delivered = sumReports(reports, 'inWindow') / window;
  return {
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
  };
}

/**
 * Completeness once the step has drained: (client, offset) pairs never seen and seen twice.
 * @param {LoaderReport[]} reports
 */
export function completeness(reports) {
  return {
    lostAtDrain: sumReports(reports, 'lost'),
    clientsCompleteAtDrain: sumReports(reports, 'complete'),
    dupOffsets: sumReports(reports, 'dupOffsets'),
  };
}

/**
 * Duplicates on the wire (receipts of an offset the client already had), those of them received by
 * a client that was acking (its ack moved within the ack timeout, or it had acked that offset), and
 * app duplicates (repeats an SDK dropping handled offsets would still pass on), at the drain.
 * @param {LoaderReport[]} reports
 */
export function wireDuplicates(reports) {
  return {
    wireDups: sumReports(reports, 'dupsSeen'),
    wireDupsAcking: reports.reduce((a, r) => a + (r.dupsSeenAcking ?? 0), 0),
    appDups: reports.reduce((a, r) => a + (r.appDups ?? 0), 0),
  };
}

/**
 * A step's wire duplicates: the final recount when it ran, else the count at the drain.
 * @param {{wireDups: number, wireDupsAcking: number, appDups: number, dupsSeenFinal?: number,
 *   dupsSeenAckingFinal?: number, appDupsFinal?: number}} s
 */
export const wireDupsOf = (s) => ({
  wire: s.dupsSeenFinal ?? s.wireDups,
  acking: s.dupsSeenAckingFinal ?? s.wireDupsAcking,
  app: s.appDupsFinal ?? s.appDups,
});

/**
 * A step's losses and duplicates: the final recount (late redeliveries included) when it ran,
 * else the count at the drain.
 * @param {{lostAtDrain: number, lostFinal?: number}} s
 */
export const lostOf = (s) => s.lostFinal ?? s.lostAtDrain;
/** @param {{dupOffsets: number, dupOffsetsFinal?: number}} s */
export const dupOf = (s) => s.dupOffsetsFinal ?? s.dupOffsets;

/** @param {StepPublish} pub */
export const publisherLag = (pub) => ({ publishLagMaxMs: pub.maxPublishLagMs, eventLoopDelayMs: pub.eventLoopDelayMs });

/**
 * The fields every row ends with. `otherCpuPct` is what none of the measured processes used
 * (kernel interrupt work, other people's jobs): it tells whether a step ran on a contended box.
 * @template {{deliveredShare: number, p99: number | null}} R
 * @param {R} row
 * @param {{busy: number | null}} box
 * @param {Array<number | null>} measuredPcts the CPU of every process the scenario runs, subtracted in order
 * @param {LoaderReport[]} reports
 * @param {{p99LimitMs: number, minDeliveredShare: number}} opts
 * @returns {R & {otherCpuPct: number | null, msgsPerFrame: number | null, keptUp: boolean}}
 */
export function finishRow(row, box, measuredPcts, reports, opts) {
  const out = /** @type {R & {otherCpuPct: number | null, msgsPerFrame: number | null, keptUp: boolean}} */ (row);
  out.otherCpuPct = box.busy === null ? null : measuredPcts.reduce((a, p) => a - /** @type {number} */ (p), box.busy);
  const frames = sumReports(reports, 'frames');
  out.msgsPerFrame = frames > 0 ? sumReports(reports, 'unique') / frames : null;
  out.keptUp = row.p99 !== null && row.p99 <= opts.p99LimitMs && row.deliveredShare >= opts.minDeliveredShare;
  return out;
}
