/**
 * `GET /v1/stats`: this node's counters read when asked, rates over the last sampling window, the
 * figures of a walk over its connections (per tenant, subscriptions, backlog: at most one walk per
 * sampling window, however many dashboards poll), and in a cluster the other nodes' shares from
 * Redis, summed. Every `intervalMs` the node samples its counters (the rates) and, in a cluster,
 * writes its share for the others to read (cluster/stats-board.ts).
 */
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../delivery/channel-registry.js';
import type { ClientConnection } from '../delivery/connection.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { DeliverySummarySource } from '../metrics/summary.js';
import type { StatsBoard } from '../cluster/stats-board.js';
import type { NodeInfo } from '../cluster/node-registry.js';
import { connectionFigures, rateCounters, ratesBetween } from './node-share.js';
import { sumShares } from './cluster-sum.js';
import type { AlertLike, ConnectionFigures, NodeShare, PresenceCounts, Rates, StatsAnswer } from './types.js';

/** The name of the one node when there is no cluster. */
export const LOCAL_NODE = 'local';
/** Alerts listed at most. */
const RECENT_ALERTS = 20;
/** A share stays in Redis this many sampling periods: a node that stops sharing drops out after it. */
const SHARE_TTL_PERIODS = 3;

export interface StatsServiceDeps {
  connections: ReadonlySet<ClientConnection>;
  registry: ChannelRegistry;
  stats: StatsCounter;
  /** The sampling period (option `statsIntervalMs`). */
  intervalMs: number;
  now: () => number;
  log: Logger;
  /** The metrics module's delivery summary (latency quantiles, success ratio); absent when metrics are off. */
  deliverySummary?: DeliverySummarySource;
  /** The alerts module's recent alerts; absent without alerts. */
  recentAlerts?: () => readonly AlertLike[];
  /** The presence module's counts on this node; absent without presence. */
  presenceCounts?: () => PresenceCounts;
}

/** What the service needs of a joined cluster. */
export interface StatsCluster {
  readonly nodeId: string;
  readonly stats: StatsBoard;
  liveNodes(): Promise<NodeInfo[]>;
}

export class StatsService {
  private timer: NodeJS.Timeout | undefined;
  private sampledAt: number;
  private sampled: Rates;
  private rates: Rates;
  private windowMs = 0;
  /** The last walk over the connections, and when it was made. */
  private walked: { at: number; figures: ConnectionFigures } | undefined;
  /** The walk under way (one at a time, whoever asks). */
  private walking: Promise<ConnectionFigures> | undefined;
  private cluster: StatsCluster | undefined;

  constructor(private readonly deps: StatsServiceDeps) {
    this.sampledAt = deps.now();
    this.sampled = rateCounters(deps.stats.values);
    this.rates = ratesBetween(this.sampled, this.sampled, 0);
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** From now on this node shares its figures with the cluster's other nodes. */
  joined(cluster: StatsCluster): void {
    this.cluster = cluster;
    this.share();
  }

  /** This node's figures now: the counters as they are, the walk's figures at most a window old. */
  async nodeShare(): Promise<NodeShare> {
    const { deps } = this;
    const figures = await this.figures(deps.now());
    const share: NodeShare = {
      nodeId: this.cluster?.nodeId ?? LOCAL_NODE,
      at: deps.now(),
      windowMs: this.windowMs,
      ...figures,
      connections: deps.connections.size,
      counters: deps.stats.snapshot(),
      rates: { ...this.rates },
    };
    if (deps.deliverySummary) share.delivery = deps.deliverySummary();
    if (deps.presenceCounts) share.presence = deps.presenceCounts();
    return share;
  }

  /** The answer of `GET /v1/stats`: every live node's share and their sum. */
  async answer(): Promise<StatsAnswer> {
    const [own, { shares, complete }] = await Promise.all([this.nodeShare(), this.othersShares()]);
    const nodes = [own, ...shares].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const answer: StatsAnswer = {
      at: own.at,
      nodeId: own.nodeId,
      intervalMs: this.deps.intervalMs,
      complete,
      total: sumShares(nodes),
      nodes,
    };
    if (this.deps.recentAlerts) {
      answer.alerts = [...this.deps.recentAlerts()].sort((a, b) => b.at - a.at).slice(0, RECENT_ALERTS);
    }
    return answer;
  }

  private sample(): void {
    const at = this.deps.now();
    const counters = rateCounters(this.deps.stats.values);
    this.windowMs = Math.max(0, at - this.sampledAt);
    this.rates = ratesBetween(this.sampled, counters, this.windowMs);
    this.sampled = counters;
    this.sampledAt = at;
    if (this.cluster) this.share();
  }

  private share(): void {
    const cluster = this.cluster!;
    this.nodeShare()
      .then((share) => cluster.stats.put(cluster.nodeId, share, this.deps.intervalMs * SHARE_TTL_PERIODS))
      .catch((err: unknown) => this.deps.log.warn({ err }, 'sharing stats failed (Redis down?)'));
  }

  /** The walk's figures, walked again when they are a sampling window old. */
  private figures(at: number): Promise<ConnectionFigures> {
    const { walked, deps } = this;
    if (walked && at - walked.at < deps.intervalMs && at >= walked.at) return Promise.resolve(walked.figures);
    this.walking ??= connectionFigures(deps.connections, deps.registry)
      .then((figures) => {
        this.walked = { at, figures };
        return figures;
      })
      .finally(() => {
        this.walking = undefined;
      });
    return this.walking;
  }

  private async othersShares(): Promise<{ shares: NodeShare[]; complete: boolean }> {
    const cluster = this.cluster;
    if (!cluster) return { shares: [], complete: true };
    try {
      const ids = (await cluster.liveNodes()).map((n) => n.nodeId).filter((id) => id !== cluster.nodeId);
      const found = await cluster.stats.read(ids);
      const shares = [...found.values()].filter(isShare);
      return { shares, complete: shares.length === ids.length };
    } catch (err) {
      this.deps.log.warn({ err }, 'reading the other nodes’ stats failed (Redis down?)');
      return { shares: [], complete: false };
    }
  }
}

function isShare(value: unknown): value is NodeShare {
  const v = value as Partial<NodeShare> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.nodeId === 'string' &&
    typeof v.connections === 'number' &&
    typeof v.counters === 'object' &&
    typeof v.rates === 'object' &&
    Array.isArray(v.topBacklog)
  );
}
