import type { Logger } from 'pino';
import type { AckLedger } from './ack-ledger.js';
import type { ClientConnection } from './connection.js';
import type { PushDispatcher } from '../push/dispatcher.js';
import type { StatsCounter } from './stats.js';
import type { RedeliveryPolicy, Subscription } from './subscription.js';
import { LoopLagSampler } from './loop-lag.js';
import { prefixWithin } from './replayer.js';
import { queuedBytes } from './socket-queue.js';

export interface SweeperPolicy extends RedeliveryPolicy {
  /** The sweeper's period. */
  retryDelayMs: number;
  /** Event-loop lag (ms, measured) above which nothing is redelivered for the next ack timeout. */
  redeliveryMaxLoopLagMs: number;
  /** Bytes of messages redelivered per sweep on this node, at most (the first redelivery always goes). */
  maxRedeliveryBytesPerSweep: number;
  /** One redelivery's size: at most this many messages and bytes. */
  replayBatchSize: number;
  maxBatchBytes: number;
}

export interface SweeperDeps {
  connections: ReadonlySet<ClientConnection>;
  policy: SweeperPolicy;
  stats: StatsCounter;
  ackLedger: AckLedger;
  /** The push fallback, told of missed messages with a push policy; none without providers. */
  push: PushDispatcher | undefined;
  log: Logger;
  /** The server's clock (the `now` option). */
  now: () => number;
}

/**
 * One sweeper per node: every `retryDelayMs` it finds stalled subscriptions (see
 * `Subscription.decide`: no ack progress for the ack timeout), resends one batch after the ack to
 * that socket alone, and after `maxRetries` counts the rest missed for that connection (they stay
 * in the log for resume and HTTP). A missed message with a push policy goes to the push fallback
 * (which pushes it at most once per user, unless a device of the user acked it).
 *
 * Redelivery must never add load where it is short: nothing is redelivered (nor counted missed)
 * until this node's event loop has run without lag for an ack timeout (acks may have waited
 * unread, and the node is overloaded), a socket that still has bytes to write gets no copy
 * behind them (the attempt counts, so a frozen connection still ends up missed), and a sweep
 * sends at most `maxRedeliveryBytesPerSweep` (the rest is due again at the next sweep).
 */
export class RedeliverySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastSweepAt = 0;
  /** When a sweep last found the event loop lagging (0: never). */
  private laggedAt = 0;
  /** Measures the loop's lag while the sweeper runs (a 10 ms timer). */
  private loopLag: LoopLagSampler | undefined;

  private readonly connections: ReadonlySet<ClientConnection>;
  private readonly policy: SweeperPolicy;
  private readonly stats: StatsCounter;
  private readonly ackLedger: AckLedger;
  private readonly push: PushDispatcher | undefined;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(deps: SweeperDeps) {
    this.connections = deps.connections;
    this.policy = deps.policy;
    this.stats = deps.stats;
    this.ackLedger = deps.ackLedger;
    this.push = deps.push;
    this.log = deps.log;
    this.now = deps.now;
  }

  start(): void {
    this.loopLag = new LoopLagSampler({ intervalMs: 10 });
    this.timer = setInterval(() => void this.sweep(this.now()), this.policy.retryDelayMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopLag?.stop();
    this.loopLag = undefined;
  }

  async sweep(now: number): Promise<void> {
    if (this.running) return; // a slow store read must not stack sweeps
    // After the event loop was blocked, acks that arrived meanwhile are still unread: judging
    // now would redeliver what clients already handled. Let them be read first.
    const blocked = this.lastSweepAt > 0 && now - this.lastSweepAt > this.policy.retryDelayMs * 4;
    this.lastSweepAt = now;
    const lagMs = this.loopLag?.takeMaxMs() ?? 0;
    if (lagMs > this.policy.redeliveryMaxLoopLagMs) {
      this.log.debug({ lagMs }, 'event loop lagging; redelivery deferred');
      this.laggedAt = now;
    }
    if (blocked) return;
    // A client's silence is judged over the ack timeout: while this node could not read its acks
    // in time during that window, the silence is no evidence (and the node has no time to spare).
    if (this.laggedAt > 0 && now - this.laggedAt < this.policy.ackTimeoutMs) return;
    this.running = true;
    try {
      const work: Promise<void>[] = [];
      let budget = this.policy.maxRedeliveryBytesPerSweep;
      for (const connection of this.connections) {
        let behind: boolean | undefined;
        for (const sub of connection.subscriptions()) {
          const decision = sub.decide(now, this.policy);
          if (decision.kind === 'missed') this.giveUp(connection, sub);
          if (decision.kind !== 'resend') continue;
          // Bytes still waiting for this socket: what it has not acked may be among them.
          behind ??= connection.hasBacklog() || queuedBytes(connection.socket) > 0;
          if (behind) {
            sub.markResent(now); // a copy would queue behind what it has not read yet
            continue;
          }
          const bytes = this.bytesOf(sub, decision.after);
          if (bytes > budget && work.length > 0) continue; // due again at the next sweep
          budget -= bytes;
          work.push(this.resend(connection, sub, decision.after, now));
        }
      }
      await Promise.all(work);
    } finally {
      this.running = false;
    }
  }

  /** What one redelivery after `after` will send: the ring's batch, or a full batch when out of the ring. */
  private bytesOf(sub: Subscription, after: number): number {
    const { state } = sub;
    const recent = state.recentRange(after, Math.min(state.head, after + this.policy.replayBatchSize));
    return recent ? prefixWithin(recent, this.policy.maxBatchBytes).bytes : this.policy.maxBatchBytes;
  }

  private async resend(connection: ClientConnection, sub: Subscription, after: number, now: number): Promise<void> {
    sub.markResent(now);
    try {
      const sent = await connection.resend(sub, after);
      if (sent === undefined) this.giveUp(connection, sub);
      else this.stats.values.redelivered += sent;
    } catch (err) {
      this.log.warn({ err, stream: sub.state.stream }, 'redelivery failed; will retry');
    }
  }

  private giveUp(connection: ClientConnection, sub: Subscription): void {
    const { from, to } = sub.markMissed();
    this.stats.values.missed += to - from + 1;
    if (!this.push) return;
    const { state } = sub;
    const { sub: user, tenant } = connection.context;
    for (let offset = from; offset <= to; offset++) {
      const message = state.recent(offset)?.message;
      // Another device of the user acked it here: nothing to push (other nodes are asked when due).
      if (!message || this.ackLedger.ackedByUser(state.stream, user) >= offset) continue;
      this.push.missed(tenant, user, state.channel, state.epoch, message);
    }
  }
}
