import type { ChannelState } from '../delivery/channel-state.js';
import type { DeliveryObserver, StatsCounter } from '../delivery/stats.js';
import { LatencyFamily, type LatencySeries } from './latency.js';
import { NamespaceCounts } from './namespaces.js';
import type { DeliverySummary } from './summary.js';

/** Offsets of one ack looked up for their publish time at most (an ack after a long gap covers many). */
const MAX_TIMED_PER_ACK = 64;

/**
 * What the delivery code reports beyond its counters (delivery/stats.ts `DeliveryObserver`):
 * publish→send and publish→ack latencies, relay lag, and what is published by namespace. Every
 * call is a few arithmetic operations and histogram increments; nothing is allocated per message.
 */
export class MetricsObserver implements DeliveryObserver {
  readonly publishedBy: NamespaceCounts;
  /** Rendered with the registry's metrics at scrape time (metrics.ts). */
  readonly histograms: LatencyFamily[];
  private readonly publishToSend: LatencySeries;
  private readonly publishToAck: LatencySeries;
  private readonly relayLag: LatencySeries;
  /** (message, device) acks within `windowMs` of the publish. */
  private ackedInWindow = 0;

  constructor(
    private readonly stats: StatsCounter,
    private readonly windowMs: number,
    maxNamespaces: number,
  ) {
    this.publishedBy = new NamespaceCounts(maxNamespaces);
    const send = new LatencyFamily(
      'tether_publish_to_send_seconds',
      'Publish (append accepted) to the first live send of a message to a room with members.',
    );
    const ack = new LatencyFamily(
      'tether_publish_to_ack_seconds',
      'Publish to the first ack of a message by a device (socket acks): the delivery latency a user feels.',
    );
    const relay = new LatencyFamily(
      'tether_relay_lag_seconds',
      'Publish on another node to the arrival of its batch here through the cluster relay.',
    );
    this.histograms = [send, ack, relay];
    this.publishToSend = send.series();
    this.publishToAck = ack.series();
    this.relayLag = relay.series();
  }

  published(channel: string, count: number): void {
    this.publishedBy.add(channel, count);
  }

  sent(ageMs: number): void {
    this.publishToSend.observe(ageMs / 1000);
  }

  acked(state: ChannelState, upTo: number, count: number, now: number): void {
    const from = upTo - Math.min(count, MAX_TIMED_PER_ACK) + 1;
    for (let offset = from; offset <= upTo; offset++) {
      const entry = state.recent(offset);
      if (!entry) continue; // no longer in the ring: its publish time is not known here
      const ageMs = now - entry.message.ts;
      this.publishToAck.observe(ageMs / 1000);
      if (ageMs <= this.windowMs) this.ackedInWindow++;
    }
  }

  relayed(ageMs: number): void {
    this.relayLag.observe(ageMs / 1000);
  }

  /** The figures /v1/stats, the dashboard and the alerts read (summary.ts). */
  summary(): DeliverySummary {
    const { live, replay, http } = this.stats.values.delivered;
    const delivered = live + replay + http;
    return {
      publishToSendMs: this.publishToSend.summary(),
      publishToAckMs: this.publishToAck.summary(),
      ackedWithin: {
        windowMs: this.windowMs,
        delivered,
        acked: this.ackedInWindow,
        ratio: delivered > 0 ? Math.min(1, this.ackedInWindow / delivered) : null,
      },
    };
  }
}
