/**
 * The stepped-rate publisher, run inside each server process so that publishing costs what it
 * costs an app: messages are published at `rate` per second for `seconds`, paced against the clock
 * (a late timer publishes what is due at once), each carrying its send time for the latency.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Bytes of padding in every payload (the loaders' fast scan relies on the payload's layout). */
export const PAD_LENGTH = 150;
const PAD = 'x'.repeat(PAD_LENGTH);

/**
 * The ~200-byte JSON payload of every bench message. Key order matters to the loaders' fast scan
 * (lib/msg-scan.js): `seq` first (its `q` marks each message), then `step`, `sentAt`, `pad`.
 */
export function payload(step, seq, microseconds = false) {
  return { seq, step, sentAt: microseconds ? nowMicroseconds() : Date.now(), pad: PAD };
}

/** Wall-clock microseconds, comparable across processes of one machine (a whole number: the scan reads integers). */
export function nowMicroseconds() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * @param {{step: number, rate: number, seconds: number, microseconds?: boolean}} args `microseconds`
 *   stamps `sentAt` in µs instead of ms (for a finer histogram than the loaders' 1 ms)
 * @param {(data: object) => number | Promise<number>} publish returns the message's offset
 */
export async function runStep({ step, rate, seconds, microseconds = false }, publish) {
  const total = Math.round(rate * seconds);
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  const offsets = [];
  const pending = [];
  let errors = 0;
  let firstError = null;
  let maxLagMs = 0;
  let sent = 0;
  const t0 = Date.now();
  const start = performance.now();
  const record = (offset) => offsets.push(offset);
  const fail = (err) => {
    errors++;
    firstError ??= err instanceof Error ? err.message : String(err);
  };
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
      while (sent < due) {
        const lag = elapsed - (sent * 1000) / rate;
        if (lag > maxLagMs) maxLagMs = lag;
        try {
          const r = publish(payload(step, sent, microseconds));
          if (typeof r === 'number') record(r);
          else pending.push(r.then(record, fail));
        } catch (err) {
          fail(err);
        }
        sent++;
      }
      if (sent >= total && elapsed >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 2);
    tick();
  });
  const t1 = Date.now();
  await Promise.all(pending);
  eld.disable();
  let first = Infinity;
  let last = -Infinity;
  for (const o of offsets) {
    if (o < first) first = o;
    if (o > last) last = o;
  }
  return {
    step,
    rate,
    sent,
    published: offsets.length,
    first: offsets.length ? first : null,
    last: offsets.length ? last : null,
    contiguous: offsets.length > 0 && last - first + 1 === offsets.length,
    errors,
    firstError,
    t0,
    t1,
    maxPublishLagMs: Math.round(maxLagMs),
    eventLoopDelayMs: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
  };
}

/** Collects garbage twice (when `--expose-gc` is on) so RSS readings are comparable. */
export function collect() {
  const gc = /** @type {any} */ (globalThis).gc;
  if (typeof gc === 'function') {
    gc();
    gc();
  }
}
