/**
 * Raises alert events: each is claimed (cooldown and cross-node dedupe, claims.ts), kept in a short
 * in-process list for the dashboard, logged, and — when this node won the claim — sent to every
 * configured target with a timeout and bounded retries. A failing target is logged; nothing here
 * ever throws into the server.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AlertEvent, AlertRecord, AlertTarget, TargetResult } from './types.js';
import { resolveAlertOptions, type AlertOptions, type ResolvedAlertOptions } from './options.js';
import { EventClaims } from './claims.js';
import { DiscordTarget } from './discord.js';
import { SlackTarget } from './slack.js';
import { WebhookAlertTarget } from './webhook-target.js';
import { EmailTarget } from './email.js';

/** Alerts kept for `recent()`. */
const RECENT = 50;
/** A target's `Retry-After` is honoured up to this. */
const MAX_RETRY_WAIT_MS = 60_000;
/** How long a node gone stays noted, so that its return (same node id) is a "node up". */
const DOWN_MEMORY_MS = 86_400_000;

/** The configured targets; a TypeError names a bad one (`tether check-config` calls this too). */
export function alertTargetsOf(o: AlertOptions, now: () => number): AlertTarget[] {
  const targets: AlertTarget[] = [];
  if (o.discord) targets.push(new DiscordTarget(o.discord));
  if (o.slack) targets.push(new SlackTarget(o.slack));
  if (o.webhook) targets.push(new WebhookAlertTarget(o.webhook, now));
  if (o.email) targets.push(new EmailTarget(o.email));
  return targets;
}

/** What the alerts need of a joined cluster. */
export interface AlertCluster {
  redis: Redis;
  keyPrefix: string;
  /** Whether a node's heartbeat key is alive now. */
  isLive(nodeId: string): Promise<boolean>;
  /**
   * How long a node seen gone must stay gone before "node down" (two heartbeats): a Redis that
   * restarted empty shows every other node gone until it heartbeats again, which is no outage.
   */
  confirmMs: number;
}

export interface AlertsDeps {
  options: AlertOptions | undefined;
  log: Logger;
  now: () => number;
  /** This node's name in alerts: its cluster id once joined, else the host name. */
  nodeName: () => string;
}

export class Alerts {
  readonly options: ResolvedAlertOptions;
  readonly targets: readonly AlertTarget[];
  private readonly claims: EventClaims;
  private readonly records: AlertRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waits = new Set<() => void>();
  private closed = false;
  private cluster: AlertCluster | undefined;

  /** Throws a TypeError naming a bad option or target. */
  constructor(private readonly deps: AlertsDeps) {
    const o = resolveAlertOptions(deps.options);
    this.options = o;
    this.targets = alertTargetsOf(o, deps.now);
    this.claims = new EventClaims(deps.now, o.timeoutMs);
  }

  /** Claims go to the cluster's Redis from now on: one alert per event, whichever node sees it. */
  share(cluster: AlertCluster): void {
    this.cluster = cluster;
    this.claims.share(cluster.redis, cluster.keyPrefix);
  }

  /** The latest alerts this node raised, newest first (sent by this node or suppressed). */
  recent(): AlertRecord[] {
    return this.records.map((r) => ({ ...r, results: [...r.results] })).reverse();
  }

  /** Raises an event; resolves once it is recorded (sending goes on in the background). Never rejects. */
  async raise(event: AlertEvent): Promise<AlertRecord | undefined> {
    if (this.closed) return undefined;
    const key = event.subject === undefined ? event.kind : `${event.kind}:${event.subject}`;
    let won: boolean;
    try {
      won = await this.claims.claim(key, this.options.cooldownMs);
    } catch (err) {
      this.deps.log.warn({ err, key }, 'alert claim failed; not sent');
      won = false;
    }
    const record: AlertRecord = {
      ...event,
      id: randomUUID(),
      key,
      at: this.deps.now(),
      node: this.deps.nodeName(),
      status: won ? 'sent' : 'suppressed',
      results: [],
    };
    this.records.push(record);
    if (this.records.length > RECENT) this.records.shift();
    this.deps.log.warn({ alert: event.kind, key, status: record.status, fields: event.fields }, event.title);
    if (won) {
      for (const target of this.targets) this.track(this.deliver(target, record));
    }
    return record;
  }

  /** A survivor saw `nodeId` stop heartbeating (every survivor does; one alert goes out once confirmed). */
  async nodeGone(nodeId: string): Promise<void> {
    const cluster = this.cluster;
    if (!cluster) return;
    await this.wait(cluster.confirmMs);
    if (this.closed) return;
    try {
      if (await cluster.isLive(nodeId)) {
        this.deps.log.info({ nodeId }, 'node back before its absence was confirmed: no alert');
        return;
      }
    } catch (err) {
      this.deps.log.warn({ err, nodeId }, 'could not confirm the node down');
      return;
    }
    try {
      await this.claims.markDown(nodeId, DOWN_MEMORY_MS);
    } catch (err) {
      this.deps.log.warn({ err, nodeId }, 'could not note the node down');
    }
    await this.raise({
      kind: 'node.down',
      severity: 'critical',
      subject: nodeId,
      title: `Tether node ${nodeId} is down`,
      text: `Node ${nodeId} stopped heartbeating; its clients reconnect to the other nodes.`,
      fields: { 'down node': nodeId },
    });
  }

  /** A node appeared: an alert only when it was noted down before (a restart with the same node id). */
  async nodeAppeared(nodeId: string, liveNodes: number): Promise<void> {
    let wasDown: boolean;
    try {
      wasDown = await this.claims.takeDown(nodeId);
    } catch (err) {
      this.deps.log.warn({ err, nodeId }, 'could not check whether the node was down');
      return;
    }
    if (!wasDown) {
      this.deps.log.info({ nodeId }, 'node joined');
      return;
    }
    await this.raise({
      kind: 'node.up',
      severity: 'info',
      subject: nodeId,
      title: `Tether node ${nodeId} is back up`,
      text: `Node ${nodeId} is heartbeating again.`,
      fields: { 'up node': nodeId, 'live nodes': liveNodes },
    });
  }

  /** Stops retries and waits for the sends in flight (each bounded by `timeoutMs`). */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waits) wake();
    await Promise.allSettled([...this.inFlight]);
    for (const target of this.targets) target.close?.();
  }

  private track(sending: Promise<void>): void {
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async deliver(target: AlertTarget, record: AlertRecord): Promise<void> {
    const { maxAttempts, retryBaseMs, timeoutMs } = this.options;
    const result: TargetResult = { target: target.name, ok: false, attempts: 0 };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      result.attempts = attempt;
      let outcome;
      try {
        outcome = await target.send(record, timeoutMs);
      } catch (err) {
        outcome = { result: 'failed' as const, error: String(err) };
      }
      if (outcome.result === 'sent') {
        result.ok = true;
        delete result.error;
        break;
      }
      result.error = outcome.error;
      if (outcome.result === 'failed' || attempt === maxAttempts || this.closed) break;
      await this.wait(Math.min(outcome.afterMs ?? retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS));
      if (this.closed) break;
    }
    record.results.push(result);
    const log = { alert: record.kind, key: record.key, target: target.name, attempts: result.attempts };
    if (result.ok) this.deps.log.info(log, 'alert sent');
    else this.deps.log.warn({ ...log, error: result.error }, 'alert not sent');
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.waits.add(wake);
    });
  }
}
