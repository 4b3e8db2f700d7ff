/**
 * Sums the nodes' shares into the cluster's figures: counts and rates add up; backlog channels
 * add up by (tenant, channel) before the top list is cut again; the delivery success ratio is
 * recomputed from the summed counts; a latency quantile cannot be summed, so the cluster's is the
 * worst node's (an upper bound that never hides a slow node).
 */
import { OTHER_TENANTS, TOP_BACKLOG, TOP_TENANTS } from './node-share.js';
import type { DeliverySummary, LatencySummary } from '../metrics/summary.js';
import type { BacklogChannel, ClusterTotal, NodeShare, PresenceCounts } from './types.js';

export function sumShares(shares: readonly NodeShare[]): ClusterTotal {
  const first = shares[0];
  if (!first) throw new Error('sumShares needs at least this node');
  const total: ClusterTotal = {
    nodes: shares.length,
    connections: 0,
    connectionsByTenant: {},
    subscriptions: 0,
    activeChannels: 0,
    unacked: 0,
    topBacklog: [],
    counters: zeroed(first.counters),
    rates: zeroed(first.rates),
  };
  const backlog = new Map<string, BacklogChannel>();
  const tenants: Record<string, number> = {};
  for (const share of shares) {
    total.connections += share.connections;
    total.subscriptions += share.subscriptions;
    total.activeChannels += share.activeChannels;
    total.unacked += share.unacked;
    addInto(total.counters, share.counters);
    addInto(total.rates, share.rates);
    addInto(tenants, share.connectionsByTenant);
    for (const entry of share.topBacklog) {
      const key = `${entry.tenant}\u0000${entry.channel}`;
      const known = backlog.get(key);
      if (known) {
        known.unacked += entry.unacked;
        known.behind += entry.behind;
      } else backlog.set(key, { ...entry });
    }
  }
  total.connectionsByTenant = topOf(tenants);
  total.topBacklog = [...backlog.values()].sort((a, b) => b.unacked - a.unacked).slice(0, TOP_BACKLOG);
  const delivery = clusterDelivery(shares);
  if (delivery) total.delivery = delivery;
  const presence = shares.filter((s) => s.presence).map((s) => s.presence!);
  if (presence.length > 0) total.presence = presence.reduce<PresenceCounts>((sum, p) => addInto(sum, p), {});
  return total;
}

function clusterDelivery(shares: readonly NodeShare[]): DeliverySummary | undefined {
  const summaries = shares.flatMap((s) => (s.delivery ? [s.delivery] : []));
  if (summaries.length === 0) return undefined;
  const delivered = summaries.reduce((n, s) => n + s.ackedWithin.delivered, 0);
  const acked = summaries.reduce((n, s) => n + s.ackedWithin.acked, 0);
  return {
    ackedWithin: {
      windowMs: summaries[0]!.ackedWithin.windowMs,
      delivered,
      acked,
      ratio: delivered > 0 ? acked / delivered : null,
    },
    publishToSendMs: worst(summaries.map((s) => s.publishToSendMs)),
    publishToAckMs: worst(summaries.map((s) => s.publishToAckMs)),
  };
}

function worst(summaries: readonly LatencySummary[]): LatencySummary {
  const max = (values: (number | null)[]): number | null => {
    const known = values.filter((v): v is number => v !== null);
    return known.length > 0 ? Math.max(...known) : null;
  };
  return {
    count: summaries.reduce((n, s) => n + s.count, 0),
    p50: max(summaries.map((s) => s.p50)),
    p90: max(summaries.map((s) => s.p90)),
    p99: max(summaries.map((s) => s.p99)),
  };
}

/** Keeps the tenants with the most connections; the rest go under `(other)`. */
function topOf(counts: Record<string, number>): Record<string, number> {
  const sorted = Object.entries(counts)
    .filter(([tenant]) => tenant !== OTHER_TENANTS)
    .sort((a, b) => b[1] - a[1]);
  const out: Record<string, number> = Object.fromEntries(sorted.slice(0, TOP_TENANTS));
  const rest = sorted.slice(TOP_TENANTS).reduce((sum, [, n]) => sum + n, 0) + (counts[OTHER_TENANTS] ?? 0);
  if (rest > 0) out[OTHER_TENANTS] = rest;
  return out;
}

/** The same shape with every number at 0 (records of counts by name start empty). */
function zeroed<T>(value: T): T {
  if (typeof value === 'number') return 0 as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, zeroed(v)])) as T;
}

/** Adds every number of `from` into `into`, key by key, at any depth; returns `into`. */
function addInto<T extends object>(into: T, from: T): T {
  const target = into as Record<string, unknown>;
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === 'number') target[key] = (typeof target[key] === 'number' ? target[key] : 0) + value;
    else if (typeof value === 'object' && value !== null) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      addInto(target[key] as object, value as object);
    }
  }
  return into;
}
