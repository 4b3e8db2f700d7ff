/**
 * The shapes of `GET /v1/stats` (docs/operations.md, "Dashboard and stats"): one node's share, and
 * the answer that sums the shares of every live node. Bounded in size whatever the load: top lists
 * have a fixed length and nothing is listed per socket.
 */
import type { DeliveryStats } from '../api.js';
import type { DeliverySummary } from '../metrics/summary.js';

/** Counts from the presence module (e.g. `{ onlineUsers, devices }`), counted on this node. */
export type PresenceCounts = Record<string, number>;

/** An alert this node sent or saw recently (the alerts module's own shape fits it). */
export interface AlertLike {
  /** ms since the Unix epoch. */
  at: number;
  /** What happened: `node_down`, `store_down`, `delivery_ratio_low`… */
  event: string;
  message?: string;
  severity?: string;
  nodeId?: string;
}

/** Per second, over the last sampling window. */
export interface Rates {
  published: number;
  /** Every path together (live, replay, http). */
  delivered: number;
  acked: number;
  redelivered: number;
  missed: number;
  resyncs: number;
  /** Pushes sent, every provider together. */
  pushSent: number;
  /** Refusals by every rate limit and cap together. */
  rateLimited: number;
}

/** A channel whose subscribers on this node have the most sent-but-unacked messages. */
export interface BacklogChannel {
  tenant: string;
  channel: string;
  /** Offsets sent and neither acked nor given up on, summed over the channel's subscriptions. */
  unacked: number;
  /** Subscriptions with something unacked. */
  behind: number;
}

/** What one walk over a node's connections finds (stats/node-share.ts); the nodes' add up to the cluster's. */
export interface ConnectionFigures {
  connections: number;
  /** Socket connections per tenant (the busiest tenants; the rest under `(other)`). */
  connectionsByTenant: Record<string, number>;
  subscriptions: number;
  /** Channels with at least one subscriber (on the node; summed over the cluster). */
  activeChannels: number;
  /** Sent and not acked (nor given up on), over every subscription. */
  unacked: number;
  topBacklog: BacklogChannel[];
}

export interface NodeShare extends ConnectionFigures {
  nodeId: string;
  /** When the figures were read, ms since the Unix epoch. */
  at: number;
  /** The sampling window the rates cover, ms (0 before the first full window). */
  windowMs: number;
  counters: DeliveryStats;
  rates: Rates;
  delivery?: DeliverySummary;
  presence?: PresenceCounts;
}

/** The cluster's figures: the nodes' summed; the delivery ratio over every node's counts, each latency the worst node's. */
export interface ClusterTotal extends ConnectionFigures {
  /** Nodes whose share is summed. */
  nodes: number;
  counters: DeliveryStats;
  rates: Rates;
  delivery?: DeliverySummary;
  presence?: PresenceCounts;
}

export interface StatsAnswer {
  at: number;
  /** The node that answered (`local` on a single node). */
  nodeId: string;
  /** How often each node samples its rates and shares its figures, ms. */
  intervalMs: number;
  /** False when a live node's share could not be read (Redis away, or not shared yet). */
  complete: boolean;
  total: ClusterTotal;
  nodes: NodeShare[];
  /** Recent alerts, newest first (when the alerts module is on). */
  alerts?: AlertLike[];
}
