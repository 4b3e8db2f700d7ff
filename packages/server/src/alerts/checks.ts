/**
 * The periodic checks behind the store and delivery alerts, every `checkIntervalMs`: the store's
 * ping (down after two failed checks in a row, a blip is not an outage; up at the first answer
 * after), and, over the last `windowMs`, the delivery success ratio (from the metrics module's
 * summary) and the missed and slow-consumer counts (deltas of the delivery stats). Each raises on
 * the transition into the bad state, not on every check while it lasts.
 */
import type { DeliveryStats } from '../api.js';
import type { DeliverySummarySource } from '../metrics/summary.js';
import type { Alerts } from './alerts.js';

/** Failed store pings in a row before "store down". */
const STORE_FAILURES_FOR_DOWN = 2;

export interface AlertChecksDeps {
  alerts: Alerts;
  /** The live delivery counters (read, never written). */
  stats: Readonly<DeliveryStats>;
  /** Resolves when the store answers. */
  pingStore: () => Promise<void>;
  /** The store engine's name, for the alert text. */
  storeName: string;
  /** Absent when metrics are off: no ratio alert then. */
  deliverySummary?: DeliverySummarySource | undefined;
  now: () => number;
}

type Watched = 'ratio' | 'missed' | 'slow';

interface Sample {
  at: number;
  missed: number;
  slowConsumers: number;
  delivered: number;
  acked: number;
}

export class AlertChecks {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private samples: Sample[] = [];
  private storeFailures = 0;
  private storeDown = false;
  private readonly above: Record<Watched, boolean> = { ratio: false, missed: false, slow: false };

  constructor(private readonly deps: AlertChecksDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.alerts.options.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round of checks (the timer's; never overlapping, never rejecting). */
  check(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    await this.checkStore();
    this.checkWindow();
  }

  private async checkStore(): Promise<void> {
    const { alerts, pingStore, storeName } = this.deps;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pingStore(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), alerts.options.timeoutMs);
        }),
      ]);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    if (error === undefined) {
      this.storeFailures = 0;
      if (!this.storeDown) return;
      this.storeDown = false;
      await alerts.raise({
        kind: 'store.up',
        severity: 'info',
        title: `Tether store (${storeName}) is back`,
        text: `The ${storeName} store answers again; publishes are accepted.`,
        fields: { store: storeName },
      });
      return;
    }
    this.storeFailures++;
    if (this.storeDown || this.storeFailures < STORE_FAILURES_FOR_DOWN) return;
    this.storeDown = true;
    await alerts.raise({
      kind: 'store.down',
      severity: 'critical',
      title: `Tether store (${storeName}) is down`,
      text: `The ${storeName} store does not answer: publishes are refused (store_unavailable) and /readyz is 503.`,
      fields: { store: storeName, error, checks: this.storeFailures },
    });
  }

  private checkWindow(): void {
    const { alerts, stats, deliverySummary, now } = this.deps;
    const o = alerts.options;
    const summary = deliverySummary?.().ackedWithin;
    const sample: Sample = {
      at: now(),
      missed: stats.missed,
      slowConsumers: stats.slowConsumers,
      delivered: summary?.delivered ?? 0,
      acked: summary?.acked ?? 0,
    };
    // The newest sample at least a window old is the baseline (the oldest one while younger).
    const from = sample.at - o.windowMs;
    while (this.samples.length > 1 && this.samples[1]!.at <= from) this.samples.shift();
    const base = this.samples[0] ?? sample;
    this.samples.push(sample);
    const windowText = `${Math.round((sample.at - base.at) / 1000)} s`;

    const missed = sample.missed - base.missed;
    this.edge('missed', o.missedPerWindow > 0 && missed >= o.missedPerWindow, () => ({
      kind: 'missed.spike',
      severity: 'warning',
      title: `Tether: ${missed} messages missed in ${windowText}`,
      text: 'Messages were given up on after every redelivery (counted missed); those with a push policy went to the push fallback.',
      fields: { missed, window: windowText, threshold: o.missedPerWindow },
    }));
    const slow = sample.slowConsumers - base.slowConsumers;
    this.edge('slow', o.slowConsumersPerWindow > 0 && slow >= o.slowConsumersPerWindow, () => ({
      kind: 'slow_consumers.spike',
      severity: 'warning',
      title: `Tether: ${slow} slow consumers cut in ${windowText}`,
      text: 'Sockets were disconnected because their unsent bytes passed maxQueuedBytes (they reconnect and resume).',
      fields: { 'slow consumers': slow, window: windowText, threshold: o.slowConsumersPerWindow },
    }));
    const delivered = sample.delivered - base.delivered;
    const ratio = delivered > 0 ? (sample.acked - base.acked) / delivered : 1;
    const low = summary !== undefined && o.deliveryRatioBelow > 0 && delivered >= o.minDeliveries;
    this.edge('ratio', low && ratio < o.deliveryRatioBelow, () => ({
      kind: 'delivery.ratio_low',
      severity: 'warning',
      title: `Tether delivery success ${(ratio * 100).toFixed(1)} % over ${windowText}`,
      text: `Of ${delivered} deliveries, ${(ratio * 100).toFixed(1)} % were acked within ${summary!.windowMs} ms of their publish (threshold ${o.deliveryRatioBelow * 100} %).`,
      fields: { ratio: Number(ratio.toFixed(4)), delivered, window: windowText, threshold: o.deliveryRatioBelow },
    }));
  }

  /** Raises on the transition into a bad state only. */
  private edge(which: Watched, bad: boolean, event: () => Parameters<Alerts['raise']>[0]): void {
    if (bad && !this.above[which]) void this.deps.alerts.raise(event());
    this.above[which] = bad;
  }
}
