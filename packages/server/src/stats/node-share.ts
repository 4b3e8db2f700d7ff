/**
 * This node's figures for `/v1/stats`: the delivery counters, and what only a walk over the node's
 * connections knows (connections per tenant, subscriptions, unacked backlog by channel). The walk
 * touches each subscription once and allocates per channel and per tenant, not per socket; it
 * yields the event loop every few milliseconds (as a broadcast does), so at 100,000 sockets it is
 * many short turns, not one long one; its result is bounded (top lists), so the answer is the
 * same size at 10 or 100,000 sockets.
 */
import type { ChannelRegistry } from '../delivery/channel-registry.js';
import type { ChannelState } from '../delivery/channel-state.js';
import type { ClientConnection } from '../delivery/connection.js';
import type { DeliveryStats } from '../api.js';
import { yieldLoop } from '../delivery/replayer.js';
import type { ConnectionFigures, Rates } from './types.js';

/** Channels listed by unacked backlog, at most. */
export const TOP_BACKLOG = 10;
/** Tenants listed by connections, at most; the rest are summed under `(other)`. */
export const TOP_TENANTS = 50;
export const OTHER_TENANTS = '(other)';
/** The walk runs this long in one event-loop turn at most, then yields. */
const WALK_SLICE_MS = 5;
/** Connections walked between two looks at the clock. */
const WALK_CHECK_EVERY = 256;

/** One walk over the node's connections and active channels, in slices of a few milliseconds. */
export async function connectionFigures(
  connections: ReadonlySet<ClientConnection>,
  registry: ChannelRegistry,
): Promise<ConnectionFigures> {
  const tenants = new Map<string, number>();
  const backlog = new Map<ChannelState, { unacked: number; behind: number }>();
  let subscriptions = 0;
  let unacked = 0;
  let walked = 0;
  let sliceStart = performance.now();
  // A Set's iterator sees deletions and additions made while it waits: a connection that left
  // meanwhile is not counted, one that came may be.
  for (const connection of connections) {
    if (++walked % WALK_CHECK_EVERY === 0 && performance.now() - sliceStart >= WALK_SLICE_MS) {
      await yieldLoop();
      sliceStart = performance.now();
    }
    const tenant = connection.context.tenant;
    tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1);
    for (const sub of connection.subscriptions()) {
      subscriptions++;
      const pending = sub.state.head - Math.max(sub.acked, sub.missedUpTo);
      if (pending <= 0) continue;
      unacked += pending;
      const entry = backlog.get(sub.state);
      if (entry) {
        entry.unacked += pending;
        entry.behind++;
      } else backlog.set(sub.state, { unacked: pending, behind: 1 });
    }
  }
  let activeChannels = 0;
  for (const state of registry.all()) if (state.subscribers > 0) activeChannels++;
  const topBacklog = [...backlog]
    .sort((a, b) => b[1].unacked - a[1].unacked)
    .slice(0, TOP_BACKLOG)
    .map(([state, entry]) => ({ tenant: state.tenant, channel: state.channel, ...entry }));
  return {
    connections: walked,
    connectionsByTenant: topTenants(tenants),
    subscriptions,
    activeChannels,
    unacked,
    topBacklog,
  };
}

function topTenants(counts: Map<string, number>): Record<string, number> {
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const out: Record<string, number> = Object.fromEntries(sorted.slice(0, TOP_TENANTS));
  const rest = sorted.slice(TOP_TENANTS).reduce((sum, [, n]) => sum + n, 0);
  if (rest > 0) out[OTHER_TENANTS] = (out[OTHER_TENANTS] ?? 0) + rest;
  return out;
}

/** The counters the rates follow, each a single number. */
export function rateCounters(c: DeliveryStats): Rates {
  const sum = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);
  return {
    published: c.published,
    delivered: c.delivered.live + c.delivered.replay + c.delivered.http,
    acked: c.acked,
    redelivered: c.redelivered,
    missed: c.missed,
    resyncs: c.resyncs,
    pushSent: sum(c.push.sent),
    rateLimited: sum(c.rateLimited),
  };
}

/** Per second between two readings of the counters `windowMs` apart (zeros without a window). */
export function ratesBetween(before: Rates, after: Rates, windowMs: number): Rates {
  const out = {} as Rates;
  for (const key of Object.keys(after) as (keyof Rates)[]) {
    out[key] = windowMs > 0 ? Math.max(0, ((after[key] - before[key]) * 1000) / windowMs) : 0;
  }
  return out;
}
