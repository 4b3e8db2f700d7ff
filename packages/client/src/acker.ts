/**
 * Cumulative acks, batched: every channel whose position moved goes into one frame, at most once
 * per `ackIntervalMs` (docs/architecture.md §4, step 10: acks must stay a small share of the server's work). The frame
 * goes out on whichever path is up (socket `ack`, or `POST /v1/ack` in fallback); when none is,
 * the acks wait — a reconnect resumes from the positions anyway.
 */

/** Sends `{ channel: offset }`; false when no path is up (the acks are kept for later). */
export type AckSender = (acks: Record<string, number>) => boolean;

export class Acker {
  private readonly pending = new Map<string, number>();
  private readonly sent = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly send: AckSender,
    /** Offsets newly covered by a sent ack (for the `acked` metric). */
    private readonly onAcked: (offsets: number) => void,
  ) {}

  record(channel: string, offset: number): void {
    const known = this.pending.get(channel) ?? this.sent.get(channel);
    if (known !== undefined && offset <= known) return;
    this.pending.set(channel, offset);
    this.schedule();
  }

  /** Sends now if the interval allows, else at the end of the interval. */
  schedule(): void {
    if (this.timer !== undefined || this.pending.size === 0) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  /** Sends the pending acks at once (e.g. before `close()`); kept when no path is up. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const acks = Object.fromEntries(this.pending);
    if (!this.send(acks)) return;
    this.lastFlush = Date.now();
    let covered = 0;
    for (const [channel, offset] of this.pending) {
      const before = this.sent.get(channel);
      if (before !== undefined) covered += Math.max(0, offset - before);
      this.sent.set(channel, offset);
    }
    this.pending.clear();
    this.onAcked(covered);
  }

  /** Where a channel starts (its first position, or a resync's): offsets up to it are not counted as acked. */
  seed(channel: string, offset: number): void {
    this.pending.delete(channel);
    this.sent.set(channel, offset);
  }

  /** A channel left (unsubscribed): forget it. */
  forget(channel: string): void {
    this.pending.delete(channel);
    this.sent.delete(channel);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
