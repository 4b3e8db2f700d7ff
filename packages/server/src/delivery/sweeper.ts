import type { Logger } from 'pino';
import { inboxOf } from '@tether/protocol';
import type { AckLedger } from './ack-ledger.js';
import type { ClientConnection } from './connection.js';
import type { PushProvider } from './push.js';
import type { StatsCounter } from './stats.js';
import type { RedeliveryPolicy, Subscription } from './subscription.js';
import { toMessage } from './relevance.js';

export interface SweeperDeps {
  connections: ReadonlySet<ClientConnection>;
  policy: RedeliveryPolicy & { retryDelayMs: number };
  stats: StatsCounter;
  ackLedger: AckLedger;
  /** The push fallback for missed critical messages; none by default. */
  push: PushProvider | undefined;
  log: Logger;
  /** The server's clock (the `now` option). */
  now: () => number;
}

/**
 * One sweeper per node: every `retryDelayMs` it finds subscriptions whose first unacked message
 * is older than the ack timeout, resends `acked+1..head` to that socket alone, and after
 * `maxRetries` counts the rest missed for that connection (they stay in the log for resume and
 * HTTP). A critical missed message nobody of its user acked goes to the push fallback, once.
 */
export class RedeliverySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastSweepAt = 0;
  /** `<stream>#<offset>` of critical messages already pushed (bounded, oldest dropped first). */
  private readonly pushed = new Set<string>();

  private readonly connections: ReadonlySet<ClientConnection>;
  private readonly policy: RedeliveryPolicy & { retryDelayMs: number };
  private readonly stats: StatsCounter;
  private readonly ackLedger: AckLedger;
  private readonly push: PushProvider | undefined;
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
    this.timer = setInterval(() => void this.sweep(this.now()), this.policy.retryDelayMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sweep(now: number): Promise<void> {
    if (this.running) return; // a slow store read must not stack sweeps
    // After the event loop was blocked, acks that arrived meanwhile are still unread: judging
    // now would redeliver what clients already handled. Let them be read first.
    const blocked = this.lastSweepAt > 0 && now - this.lastSweepAt > this.policy.retryDelayMs * 4;
    this.lastSweepAt = now;
    if (blocked) return;
    this.running = true;
    try {
      const work: Promise<void>[] = [];
      for (const connection of this.connections) {
        if (connection.hasBacklog()) continue; // not yet written, so not yet ackable
        for (const sub of connection.subscriptions()) {
          const decision = sub.decide(now, this.policy);
          if (decision.kind === 'resend') work.push(this.resend(connection, sub, decision.after, now));
          else if (decision.kind === 'missed') this.giveUp(connection, sub);
        }
      }
      await Promise.all(work);
    } finally {
      this.running = false;
    }
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
      if (!message?.critical) continue;
      const key = `${state.stream}#${state.epoch}#${offset}`;
      if (this.pushed.has(key) || this.ackLedger.ackedByUser(state.stream, user) >= offset) continue;
      this.pushed.add(key);
      if (this.pushed.size > 100_000) this.pushed.delete(this.pushed.values().next().value!);
      this.stats.values.pushes++;
      const target = {
        tenant,
        sub: state.channel === inboxOf(user) ? user : undefined,
        channel: state.channel,
        reason: 'unacked' as const,
      };
      this.push.send(target, toMessage(state.channel, message)).catch((err: unknown) => {
        this.log.error({ err, stream: state.stream, offset }, 'push fallback failed');
      });
    }
  }
}
