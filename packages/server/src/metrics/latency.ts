import { Histogram, type Registry } from 'prom-client';
import type { LatencySummary } from './summary.js';

/** Seconds: 1 ms to a minute, the range of a delivery's latency (a live send to an ack after a reconnect). */
export const DELIVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * One latency histogram, exported to Prometheus and kept in local buckets too, so that the
 * delivery summary (summary.ts) answers its quantiles synchronously, as Prometheus's
 * `histogram_quantile` would from the same buckets.
 */
export class LatencyHistogram {
  private readonly exported: Histogram;
  private readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  private readonly counts: Float64Array;
  private total = 0;

  constructor(registry: Registry, name: string, help: string, buckets: readonly number[] = DELIVERY_BUCKETS) {
    this.exported = new Histogram({ name, help, buckets: [...buckets], registers: [registry] });
    this.bounds = buckets;
    this.counts = new Float64Array(buckets.length + 1);
  }

  observe(seconds: number): void {
    const value = seconds > 0 ? seconds : 0;
    this.exported.observe(value);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.total++;
  }

  /** Count and p50/p90/p99 in milliseconds (linear within a bucket; above the last bound: the last bound). */
  summary(): LatencySummary {
    return { count: this.total, p50: this.quantileMs(0.5), p90: this.quantileMs(0.9), p99: this.quantileMs(0.99) };
  }

  private quantileMs(q: number): number | null {
    if (this.total === 0) return null;
    const rank = q * this.total;
    let below = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i]!;
      if (below + inBucket >= rank && inBucket > 0) {
        if (i >= this.bounds.length) return this.bounds.at(-1)! * 1000;
        const lower = i === 0 ? 0 : this.bounds[i - 1]!;
        const upper = this.bounds[i]!;
        return (lower + ((upper - lower) * (rank - below)) / inBucket) * 1000;
      }
      below += inBucket;
    }
    return this.bounds.at(-1)! * 1000;
  }
}
