/**
 * The metrics of one server (docs/operations.md, "Monitoring"): its own prom-client Registry (never
 * the global one, so two servers in one process do not collide), the delivery observer the
 * delivery code reports latencies to, the timed store, and the scrape-time readers of the counters.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { StatsCounter } from '../delivery/stats.js';
import type { LogStore } from '../store/types.js';
import { MetricsObserver } from './delivery-observer.js';
import type { ResolvedMetricsOptions } from './options.js';
import { registerStatsMetrics, type ScrapeSources } from './stats-metrics.js';
import type { DeliverySummarySource } from './summary.js';
import { TimedStore } from './timed-store.js';
import type { LatencyFamily } from './latency.js';

export interface TetherMetrics {
  /** This server's counters and gauges (the histograms and Node's process metrics are added at scrape time). */
  readonly registry: Registry;
  /** The delivery figures for /v1/stats, the dashboard and the alerts. */
  readonly summary: DeliverySummarySource;
  /** The store, each operation timed. */
  timeStore(store: LogStore): LogStore;
  /** Registers the metrics read at scrape time from the server's parts. */
  watch(sources: Omit<ScrapeSources, 'stats' | 'publishedBy'>): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ text: string; contentType: string }>;
}

/**
 * Node's default metrics describe the process, whichever servers it runs: collected once per
 * process into a registry of their own (their GC observer and event-loop monitor are not made per server).
 */
let processRegistry: Registry | undefined;

function nodeRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges named `*_total` (totals of the per-type gauges beside them) fail promtool's lint.
    for (const metric of processRegistry.getMetricsAsArray()) {
      if (metric.name.endsWith('_total') && !metric.name.endsWith('seconds_total'))
        processRegistry.removeSingleMetric(metric.name);
    }
  }
  return processRegistry;
}

export function createMetrics(options: ResolvedMetricsOptions, stats: StatsCounter): TetherMetrics {
  const registry = new Registry();
  const observer = new MetricsObserver(stats, options.successWindowMs, options.maxNamespaces);
  stats.observer = observer;
  // The latency histograms count in typed arrays of their own (latency.ts) and are rendered here.
  const histograms: LatencyFamily[] = [...observer.histograms];
  return {
    registry,
    summary: () => observer.summary(),
    timeStore: (store) => {
      const timed = new TimedStore(store);
      histograms.push(timed.histogram);
      return timed;
    },
    watch: (sources) => registerStatsMetrics(registry, { ...sources, stats, publishedBy: observer.publishedBy }),
    scrape: async () => {
      const parts = [await registry.metrics(), ...histograms.map((h) => h.render())];
      // Started at the first scrape: a process nobody scrapes (tests, benches) runs no GC observer.
      if (options.nodeMetrics) parts.push(await nodeRegistry().metrics());
      return { text: parts.join('\n'), contentType: registry.contentType };
    },
  };
}
