/** Latency histograms (1 ms buckets) that merge across processes, and their percentiles. */
import { readFileSync } from 'node:fs';

/** Latencies at or above this many ms share the last bucket. */
export const LAT_MAX_MS = 60_000;

export function newHistogram() {
  return new Uint32Array(LAT_MAX_MS + 1);
}

/** Sparse form for IPC: `[[ms, count], ...]`. */
export function toSparse(hist) {
  const out = [];
  for (let i = 0; i < hist.length; i++) if (hist[i] !== 0) out.push([i, hist[i]]);
  return out;
}

/** Merges sparse histograms into one `Map<ms, count>` (sorted on read). */
export function mergeSparse(list) {
  const merged = new Map();
  for (const sparse of list) for (const [ms, n] of sparse) merged.set(ms, (merged.get(ms) ?? 0) + n);
  return merged;
}

/**
 * @param {Map<number, number>} merged
 * @param {number[]} ps e.g. [50, 95, 99]
 * @returns {{count: number, max: number, pcts: Record<string, number | null>}}
 */
export function percentiles(merged, ps) {
  const keys = [...merged.keys()].sort((a, b) => a - b);
  let count = 0;
  for (const k of keys) count += merged.get(k);
  const pcts = {};
  for (const p of ps) {
    if (count === 0) {
      pcts[`p${p}`] = null;
      continue;
    }
    const rank = Math.ceil((p / 100) * count);
    let seen = 0;
    for (const k of keys) {
      seen += merged.get(k);
      if (seen >= rank) {
        pcts[`p${p}`] = k;
        break;
      }
    }
  }
  return { count, max: keys.length ? keys[keys.length - 1] : 0, pcts };
}

/**
 * Machine-wide CPU ticks from /proc/stat (all cores): idle, interrupt (irq + softirq: the kernel's
 * loopback network work mostly lands there) and total, for busy shares over an interval.
 */
export function machineCpu() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const irq = (f[5] ?? 0) + (f[6] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { idle, irq, total, at: Date.now() };
  } catch {
    return null;
  }
}

/** Busy share of the machine between two readings, in % of one core (2 cores → up to 200 %). */
export function machineBusy(a, b, cores) {
  if (!a || !b || b.total <= a.total) return { busy: null, irq: null };
  const dt = b.total - a.total;
  return { busy: (1 - (b.idle - a.idle) / dt) * 100 * cores, irq: ((b.irq - a.irq) / dt) * 100 * cores };
}

/**
 * A client's per-offset receipt counts, grown (doubling, at most `max` slots) so that index `o`
 * fits; the same array when it already does.
 * @param {Uint8Array} counts
 * @param {number} o
 * @param {number} max
 * @returns {Uint8Array}
 */
export function growCounts(counts, o, max) {
  if (o < counts.length) return counts;
  let size = counts.length * 2;
  while (size <= o) size *= 2;
  const grown = new Uint8Array(Math.min(size, max));
  grown.set(counts);
  return grown;
}
