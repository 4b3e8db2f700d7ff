/**
 * The optional sources of `/v1/stats` (the metrics module's delivery summary, the alerts module's
 * recent alerts, the presence module's counts) and how the cluster's sum treats them: the success
 * ratio is recomputed from every node's counts, a latency quantile is the worst node's, presence
 * counts add up, alerts come newest first and at most 20.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { StatsService } from '../../src/stats/stats-service.js';
import { sumShares } from '../../src/stats/cluster-sum.js';
import { StatsCounter } from '../../src/delivery/stats.js';
import { ChannelRegistry } from '../../src/delivery/channel-registry.js';
import { MemoryLogStore } from '../../src/store/index.js';
import type { DeliverySummary } from '../../src/metrics/summary.js';
import type { NodeShare } from '../../src/stats/types.js';

function summary(delivered: number, acked: number, p99: number | null): DeliverySummary {
  return {
    publishToSendMs: { count: delivered, p50: 1, p90: 2, p99: 3 },
    publishToAckMs: { count: acked, p50: 10, p90: 20, p99 },
    ackedWithin: { windowMs: 5000, delivered, acked, ratio: delivered > 0 ? acked / delivered : null },
  };
}

function service(extra: Partial<ConstructorParameters<typeof StatsService>[0]> = {}): StatsService {
  const stats = new StatsCounter();
  stats.values.published = 3;
  return new StatsService({
    connections: new Set(),
    registry: new ChannelRegistry(new MemoryLogStore(), 16),
    stats,
    intervalMs: 1000,
    now: Date.now,
    log: pino({ level: 'silent' }),
    ...extra,
  });
}

describe('stats sources', () => {
  it('without the optional modules, the answer has none of their fields', async () => {
    const answer = await service().answer();
    expect(answer.total.counters.published).toBe(3);
    expect(answer.total).not.toHaveProperty('delivery');
    expect(answer.total).not.toHaveProperty('presence');
    expect(answer).not.toHaveProperty('alerts');
  });

  it('with them: the summary, the presence counts, the alerts newest first and at most 20', async () => {
    const alerts = Array.from({ length: 25 }, (_, i) => ({ at: 1000 + i, event: 'node_down', message: `n${i}` }));
    const answer = await service({
      deliverySummary: () => summary(10, 9, 120),
      presenceCounts: () => ({ onlineUsers: 4, devices: 6 }),
      recentAlerts: () => alerts,
    }).answer();
    expect(answer.nodes[0]!.delivery).toEqual(summary(10, 9, 120));
    expect(answer.total.delivery?.ackedWithin).toEqual({ windowMs: 5000, delivered: 10, acked: 9, ratio: 0.9 });
    expect(answer.total.presence).toEqual({ onlineUsers: 4, devices: 6 });
    expect(answer.alerts).toHaveLength(20);
    expect(answer.alerts![0]!.at).toBe(1024);
    expect(answer.alerts![19]!.at).toBe(1005);
  });

  it("sums the nodes: the ratio over every node's counts, each latency quantile the worst node's", async () => {
    const a = service({ deliverySummary: () => summary(100, 90, 200), presenceCounts: () => ({ devices: 2 }) });
    const b = service({ deliverySummary: () => summary(100, 50, null), presenceCounts: () => ({ devices: 3 }) });
    const shares: NodeShare[] = [
      { ...(await a.nodeShare()), nodeId: 'a', connectionsByTenant: { acme: 2, '(other)': 1 } },
      { ...(await b.nodeShare()), nodeId: 'b', connectionsByTenant: { acme: 1, beta: 4 } },
    ];
    const total = sumShares(shares);
    expect(total.nodes).toBe(2);
    expect(total.counters.published).toBe(6);
    expect(total.delivery?.ackedWithin).toEqual({ windowMs: 5000, delivered: 200, acked: 140, ratio: 0.7 });
    expect(total.delivery?.publishToAckMs).toEqual({ count: 140, p50: 10, p90: 20, p99: 200 });
    expect(total.presence).toEqual({ devices: 5 });
    expect(total.connectionsByTenant).toEqual({ beta: 4, acme: 3, '(other)': 1 });
  });
});
