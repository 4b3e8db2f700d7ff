import type { LatencySummary } from './summary.js';

/** Seconds: 1 ms to a minute, the range of a delivery's latency (a live send to an ack after a reconnect). */
export const DELIVERY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * One latency histogram series, counted in typed arrays: an observation is a bucket search and
 * two additions, no allocation (prom-client's `observe` builds a label hash per call, ~200 ns,
 * which the publish→ack path pays up to 64 times per ack). Rendered in the Prometheus text format
 * by its family at scrape time; its quantiles answer the delivery summary (summary.ts) as
 * Prometheus's `histogram_quantile` would from the same buckets.
 */
export class LatencySeries {
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  constructor(
    private readonly bounds: readonly number[],
    /** `op="append",engine="memory"`, or empty. */
    private readonly labelText: string,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const value = seconds > 0 ? seconds : 0;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.total++;
    this.sum += value;
  }

  /** Count and p50/p90/p99 in milliseconds (linear within a bucket; above the last bound: the last bound). */
  summary(): LatencySummary {
    return { count: this.total, p50: this.quantileMs(0.5), p90: this.quantileMs(0.9), p99: this.quantileMs(0.99) };
  }

  /** The series' sample lines of family `name`. */
  lines(name: string): string[] {
    const sep = this.labelText === '' ? '' : `${this.labelText},`;
    const braces = this.labelText === '' ? '' : `{${this.labelText}}`;
    const out: string[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push(`${name}_bucket{${sep}le="${this.bounds[i]}"} ${cumulative}`);
    }
    out.push(`${name}_bucket{${sep}le="+Inf"} ${this.total}`);
    out.push(`${name}_sum${braces} ${this.sum}`);
    out.push(`${name}_count${braces} ${this.total}`);
    return out;
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

/** A histogram family (one name, help and bucket set) and its series, by label values. */
export class LatencyFamily {
  private readonly series_ = new Map<string, LatencySeries>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[] = DELIVERY_BUCKETS,
  ) {}

  /** The series of these labels (values from a closed set: never a channel or a user). */
  series(labels: Record<string, string> = {}): LatencySeries {
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
      .join(',');
    let series = this.series_.get(text);
    if (!series) this.series_.set(text, (series = new LatencySeries(this.bounds, text)));
    return series;
  }

  /** The family in the Prometheus text format (HELP, TYPE, every series), ending with a newline. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const series of this.series_.values()) lines.push(...series.lines(this.name));
    return `${lines.join('\n')}\n`;
  }
}
