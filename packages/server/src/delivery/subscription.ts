import type { ChannelState } from './channel-state.js';

export interface RedeliveryPolicy {
  ackTimeoutMs: number;
  retryAckTimeoutMs: number;
  maxRetries: number;
  /** Each further redelivery waits this many times longer than the one before. */
  redeliveryBackoff: number;
}

export type SweepDecision = { kind: 'none' } | { kind: 'resend'; after: number } | { kind: 'missed'; after: number };

/**
 * One connection's subscription to one channel. Because everyone in the channel's room has been
 * sent up to the channel's head, the only state kept is how far the client acked and how many
 * redeliveries were tried — nothing per message.
 */
export class Subscription {
  /** Cumulative ack: the client handled everything up to here. */
  acked: number;
  /** Redeliveries made since the ack last moved. */
  attempts = 0;
  lastResendAt = 0;
  /** Offsets up to here were given up on (counted missed) for this connection. */
  missedUpTo = 0;
  /**
   * When the ack last moved forward, or the subscription joined the room if it has not since
   * (replayed messages count as sent then). One time for both: it only moves forward.
   */
  ackMovedAt = 0;
  joined = false;
  /** This subscription's device entry in the AckLedger (`recordFor`): slot and generation, -1 until its first ack. */
  ledgerSlot = -1;
  ledgerGen = 0;

  constructor(
    readonly state: ChannelState,
    acked: number,
  ) {
    this.acked = acked;
  }

  /** Moves the ack forward (never back, never past what was sent); returns how many offsets it newly covers. */
  ack(offset: number, now: number): number {
    const upTo = Math.min(offset, this.state.head);
    if (upTo <= this.acked) return 0;
    const newly = upTo - this.acked;
    this.acked = upTo;
    this.attempts = 0;
    this.ackMovedAt = now;
    return newly;
  }

  /**
   * What the sweeper should do now for this subscription. A client is stalled only when nothing
   * shows progress for `ackTimeoutMs`: its first unacked message was sent that long ago AND its ack
   * has not moved for that long. A client that acks steadily but runs behind (a saturated reader,
   * a relayed batch that came late, acks coalesced once a second) is therefore never redelivered
   * to: what it has not acked is on its way, and a copy would only queue behind it. Each further
   * redelivery waits `redeliveryBackoff` times longer than the one before.
   */
  decide(now: number, policy: RedeliveryPolicy): SweepDecision {
    if (!this.joined) return { kind: 'none' };
    const base = Math.max(this.acked, this.missedUpTo);
    if (base >= this.state.head) return { kind: 'none' };
    if (this.attempts === 0) {
      // Out of the ring (a busy channel) the send time is unknown: the ack's last move stands for it.
      const sentAt = this.state.recent(base + 1)?.sentAt ?? 0;
      const progressAt = Math.max(sentAt, this.ackMovedAt);
      if (now - progressAt < policy.ackTimeoutMs) return { kind: 'none' };
    } else {
      const wait = policy.retryAckTimeoutMs * policy.redeliveryBackoff ** (this.attempts - 1);
      if (now - this.lastResendAt < wait) return { kind: 'none' };
    }
    return this.attempts < policy.maxRetries ? { kind: 'resend', after: base } : { kind: 'missed', after: base };
  }

  markResent(now: number): void {
    this.attempts++;
    this.lastResendAt = now;
  }

  /** Gives up on everything sent so far; returns the first and last offset given up on. */
  markMissed(): { from: number; to: number } {
    const from = Math.max(this.acked, this.missedUpTo) + 1;
    this.missedUpTo = this.state.head;
    this.attempts = 0;
    return { from, to: this.state.head };
  }
}
