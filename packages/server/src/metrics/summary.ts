/**
 * The delivery figures the metrics module computes and the stats endpoint, the dashboard and the
 * alerts read (docs/operations.md, "Monitoring"): publish→send and publish→ack latency quantiles,
 * and the delivery success ratio (messages acked within `windowMs` of their publish over messages
 * delivered). One shape, so the three readers agree with the Prometheus export.
 */
export interface LatencySummary {
  /** Observations since the server started. */
  count: number;
  /** Milliseconds; null until there is an observation. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface DeliverySummary {
  /** Publish (append accepted) to the first send on a live socket. */
  publishToSendMs: LatencySummary;
  /** Publish to the first ack of the message by a device: the delivery latency a user feels. */
  publishToAckMs: LatencySummary;
  /** Since the server started: deliveries, and those acked within `windowMs` of their publish. */
  ackedWithin: { windowMs: number; delivered: number; acked: number; ratio: number | null };
}

/** Something that can answer the summary now (the metrics module; absent when metrics are off). */
export type DeliverySummarySource = () => DeliverySummary;
