/**
 * The periodic checks, one round at a time on an injected clock: the delivery success ratio over
 * the window (from a DeliverySummary source, the metrics module's contract), the missed and
 * slow-consumer spikes (deltas of the delivery stats), and the store's ping. Each raises once on
 * entering the bad state, not on every round while it lasts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryStats } from '@tether/server';
import { StatsCounter } from '../../src/delivery/stats.js';
import { AlertChecks } from '../../src/alerts/checks.js';
import type { DeliverySummary } from '../../src/metrics/summary.js';
import type { Alerts } from '../../src/alerts/alerts.js';
import type { AlertOptions } from '../../src/alerts/options.js';
import { alertsWith } from './helpers.js';

const opened: Alerts[] = [];
afterEach(async () => {
  for (const alerts of opened.splice(0)) await alerts.close();
});

interface Rig {
  alerts: Alerts;
  checks: AlertChecks;
  stats: DeliveryStats;
  summary: DeliverySummary['ackedWithin'];
  clock: { now: number };
  store: { up: boolean };
  /** Advances the clock by `ms` and runs one round. */
  round(ms?: number): Promise<void>;
  kinds(): string[];
}

function rig(options: AlertOptions, withSummary = true): Rig {
  const clock = { now: 1_000_000 };
  const store = { up: true };
  const stats = new StatsCounter().values;
  const summary = { windowMs: 10_000, delivered: 0, acked: 0, ratio: null };
  const alerts = alertsWith({ cooldownMs: 1000, ...options }, () => clock.now);
  opened.push(alerts);
  const checks = new AlertChecks({
    alerts,
    stats,
    pingStore: async () => {
      if (!store.up) throw new Error('connection refused');
    },
    storeName: 'redis',
    deliverySummary: withSummary
      ? () => ({
          publishToSendMs: { count: 0, p50: null, p90: null, p99: null },
          publishToAckMs: { count: 0, p50: null, p90: null, p99: null },
          ackedWithin: { ...summary },
        })
      : undefined,
    now: () => clock.now,
  });
  return {
    alerts,
    checks,
    stats,
    summary,
    clock,
    store,
    async round(ms = 5000) {
      clock.now += ms;
      await checks.check();
    },
    kinds: () =>
      alerts
        .recent()
        .map((r) => `${r.kind}:${r.status}`)
        .reverse(),
  };
}

describe('alert checks', () => {
  it('delivery ratio: below the threshold over the window raises once; recovered then low again raises again', async () => {
    const r = rig({ windowMs: 60_000, deliveryRatioBelow: 0.9, minDeliveries: 100 });
    await r.round();
    r.summary.delivered += 1000;
    r.summary.acked += 990; // 99 %
    await r.round();
    expect(r.kinds()).toEqual([]);
    r.summary.delivered += 1000;
    r.summary.acked += 500; // the window now holds 2000 deliveries, 1490 acked: 74.5 %
    await r.round();
    await r.round(); // still low: no second alert
    expect(r.kinds()).toEqual(['delivery.ratio_low:sent']);
    expect(r.alerts.recent()[0]).toMatchObject({
      severity: 'warning',
      fields: { delivered: 2000, ratio: 0.745, threshold: 0.9 },
    });
    // A minute of good deliveries pushes the bad ones out of the window.
    for (let i = 0; i < 13; i++) {
      r.summary.delivered += 100;
      r.summary.acked += 100;
      await r.round();
    }
    r.summary.delivered += 1000;
    r.summary.acked += 100;
    await r.round();
    expect(r.kinds()).toEqual(['delivery.ratio_low:sent', 'delivery.ratio_low:sent']);
  });

  it('delivery ratio: too few deliveries in the window, no summary source, or threshold 0: nothing', async () => {
    const few = rig({ minDeliveries: 100 });
    await few.round();
    few.summary.delivered += 99;
    await few.round();
    expect(few.kinds()).toEqual([]);

    const none = rig({}, false);
    await none.round();
    await none.round();
    expect(none.kinds()).toEqual([]);

    const off = rig({ deliveryRatioBelow: 0 });
    await off.round();
    off.summary.delivered += 1000;
    await off.round();
    expect(off.kinds()).toEqual([]);
  });

  it('missed and slow-consumer spikes: the delta over the window against the threshold', async () => {
    const r = rig({ windowMs: 30_000, missedPerWindow: 50, slowConsumersPerWindow: 5 });
    await r.round();
    r.stats.missed += 49;
    r.stats.slowConsumers += 4;
    await r.round();
    expect(r.kinds()).toEqual([]);
    r.stats.missed += 1;
    r.stats.slowConsumers += 1;
    await r.round();
    expect(r.kinds()).toEqual(['missed.spike:sent', 'slow_consumers.spike:sent']);
    expect(r.alerts.recent().find((a) => a.kind === 'missed.spike')?.fields).toMatchObject({
      missed: 50,
      threshold: 50,
    });
    // The same counts spread over more than the window are no spike.
    const slow = rig({ windowMs: 30_000, missedPerWindow: 50 });
    await slow.round();
    for (let i = 0; i < 20; i++) {
      slow.stats.missed += 10;
      await slow.round(10_000);
    }
    expect(slow.kinds()).toEqual([]);
  });

  it('store: down after two failed pings in a row, up at the first answer after', async () => {
    const r = rig({ cooldownMs: 60_000 });
    await r.round();
    r.store.up = false;
    await r.round();
    expect(r.kinds()).toEqual([]); // one failed ping is a blip
    await r.round();
    await r.round();
    expect(r.kinds()).toEqual(['store.down:sent']);
    expect(r.alerts.recent()[0]?.fields).toMatchObject({ store: 'redis', error: 'connection refused', checks: 2 });
    r.store.up = true;
    await r.round();
    await r.round();
    expect(r.kinds()).toEqual(['store.down:sent', 'store.up:sent']);
    // A flap within the cooldown (60 s here) is recorded but not sent.
    r.store.up = false;
    await r.round(100);
    await r.round(100);
    r.store.up = true;
    await r.round(100);
    expect(r.kinds()).toEqual(['store.down:sent', 'store.up:sent', 'store.down:suppressed', 'store.up:suppressed']);
  });
});
