/** The client's counters and the connection quality derived from the RTT probe (docs/architecture.md §6). */

export type ConnectionQuality = 'excellent' | 'good' | 'fair' | 'poor' | 'unknown';

export interface ClientMetrics {
  /** Milliseconds the current socket connection has been up; 0 when not connected. */
  uptimeMs: number;
  /** Successful socket connections (the first one included). */
  connects: number;
  /** Successful socket connections after the first. */
  reconnects: number;
  /** Failed connection attempts, and lost connections. */
  failures: number;
  /** Why the last failure happened (a status reason, or a server error code). */
  lastFailureReason: string | undefined;
  /** Round-trip time of the last probe, ms. */
  rttLastMs: number | undefined;
  /** Average RTT over the last 10 probes, ms. */
  rttAvgMs: number | undefined;
  /** From the average RTT: excellent < 100 ms, good < 300, fair < 1000, poor above; unknown before a probe. */
  quality: ConnectionQuality;
  /** Messages received (socket and HTTP, duplicates included). */
  received: number;
  /** Messages the handlers completed. */
  handled: number;
  /** Offsets acknowledged to the server (handled messages, and offsets skipped by relevance rules). */
  acked: number;
  /** Messages dropped as at or below the position (redeliveries, replay overlap, path switches). */
  deduplicated: number;
  /** Messages that arrived after their `expiresAt` (by the server's clock): skipped, never handed to a handler, acked. */
  expired: number;
  /** Messages skipped because a later message already in hand supersedes them (its `supersedes`): never handed to a handler, acked. */
  superseded: number;
  /** How far the server's clock is ahead of this device's (ms, from the last probe; 0 before one): `expiresAt` is judged by it. */
  serverClockAheadMs: number;
  /** Handler calls that threw or rejected (each is retried). */
  handlerErrors: number;
  /** Frames from the server that failed validation and were dropped. */
  protocolErrors: number;
  /** Gaps asked for (a message ahead of position+1 not filled in time). */
  gapsRequested: number;
  /** `resync` events. */
  resyncs: number;
  /** Publishes acknowledged by the server. */
  published: number;
  /** Publishes waiting in the queue (in flight included). */
  queued: number;
  /** Total milliseconds spent in `fallback`, the current stretch included. */
  fallbackMs: number;
  /** HTTP polls answered. */
  polls: number;
}

export function qualityOf(rttMs: number | undefined): ConnectionQuality {
  if (rttMs === undefined) return 'unknown';
  if (rttMs < 100) return 'excellent';
  if (rttMs < 300) return 'good';
  if (rttMs < 1000) return 'fair';
  return 'poor';
}

type Counter =
  | 'connects'
  | 'failures'
  | 'received'
  | 'handled'
  | 'acked'
  | 'deduplicated'
  | 'expired'
  | 'superseded'
  | 'handlerErrors'
  | 'protocolErrors'
  | 'gapsRequested'
  | 'resyncs'
  | 'published'
  | 'polls';

const RTT_SAMPLES = 10;

export class MetricsRecorder {
  private readonly counts: Record<Counter, number> = {
    connects: 0,
    failures: 0,
    received: 0,
    handled: 0,
    acked: 0,
    deduplicated: 0,
    expired: 0,
    superseded: 0,
    handlerErrors: 0,
    protocolErrors: 0,
    gapsRequested: 0,
    resyncs: 0,
    published: 0,
    polls: 0,
  };
  private lastFailure: string | undefined;
  private readonly rtts: number[] = [];
  private connectedAt: number | undefined;
  private fallbackSince: number | undefined;
  private fallbackTotal = 0;
  private serverAheadMs = 0;
  /** Recent probes' (rtt, server ahead) pairs: the estimate comes from the quickest round trip. */
  private readonly clockSamples: { rttMs: number; aheadMs: number }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(counter: Counter, by = 1): void {
    this.counts[counter] += by;
  }

  failure(reason: string): void {
    this.counts.failures++;
    this.lastFailure = reason;
  }

  rtt(ms: number): void {
    this.rtts.push(ms);
    if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
  }

  /**
   * A probe's estimate of the server's clock against ours. One estimate is off by up to half its
   * round trip (a reply that waited on a busy event loop), so the quickest of the recent probes
   * counts, and a difference within its half round trip is taken as none.
   */
  serverClock(aheadMs: number, rttMs: number): void {
    this.clockSamples.push({ rttMs, aheadMs });
    if (this.clockSamples.length > RTT_SAMPLES) this.clockSamples.shift();
    let best = this.clockSamples[0]!;
    for (const sample of this.clockSamples) if (sample.rttMs < best.rttMs) best = sample;
    this.serverAheadMs = Math.abs(best.aheadMs) <= best.rttMs / 2 ? 0 : best.aheadMs;
  }

  /** The server's clock as this device estimates it (ms since the epoch): what `expiresAt` is compared with. */
  serverNow(): number {
    return this.now() + this.serverAheadMs;
  }

  connected(): void {
    this.counts.connects++;
    this.connectedAt = this.now();
  }

  disconnected(): void {
    this.connectedAt = undefined;
  }

  fallback(active: boolean): void {
    if (active && this.fallbackSince === undefined) this.fallbackSince = this.now();
    if (!active && this.fallbackSince !== undefined) {
      this.fallbackTotal += this.now() - this.fallbackSince;
      this.fallbackSince = undefined;
    }
  }

  snapshot(queued: number): ClientMetrics {
    const now = this.now();
    const avg = this.rtts.length > 0 ? this.rtts.reduce((a, b) => a + b, 0) / this.rtts.length : undefined;
    return {
      uptimeMs: this.connectedAt === undefined ? 0 : now - this.connectedAt,
      connects: this.counts.connects,
      reconnects: Math.max(0, this.counts.connects - 1),
      failures: this.counts.failures,
      lastFailureReason: this.lastFailure,
      rttLastMs: this.rtts.at(-1),
      rttAvgMs: avg === undefined ? undefined : Math.round(avg * 10) / 10,
      quality: qualityOf(avg),
      received: this.counts.received,
      handled: this.counts.handled,
      acked: this.counts.acked,
      deduplicated: this.counts.deduplicated,
      expired: this.counts.expired,
      superseded: this.counts.superseded,
      serverClockAheadMs: Math.round(this.serverAheadMs),
      handlerErrors: this.counts.handlerErrors,
      protocolErrors: this.counts.protocolErrors,
      gapsRequested: this.counts.gapsRequested,
      resyncs: this.counts.resyncs,
      published: this.counts.published,
      queued,
      fallbackMs: this.fallbackTotal + (this.fallbackSince === undefined ? 0 : now - this.fallbackSince),
      polls: this.counts.polls,
    };
  }
}
