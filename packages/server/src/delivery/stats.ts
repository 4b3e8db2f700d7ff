import type { DeliveryStats } from '../api.js';
import { countDrop, emptyDropsByPath, type DropPath, type DropReason } from './relevance-counts.js';
import type { ChannelState } from './channel-state.js';

/** Why a reader was told to `resync`: another life of the log, a position past the head, or one retention removed. */
export type ResyncReason = 'epoch' | 'ahead' | 'retention';

/** A refused credential (`authFailures`), by its error code. */
export type AuthFailureReason = 'unauthorized' | 'token_expired';

/**
 * What the metrics module observes beyond the counters (metrics/delivery-observer.ts): latencies and
 * the channel namespace of what is published. Absent when metrics are off, so the delivery code
 * pays one property read.
 */
export interface DeliveryObserver {
  /** `count` messages of `channel` appended by this node. */
  published(channel: string, count: number): void;
  /** A message fanned out to a room with members `ageMs` after its publish. */
  sent(ageMs: number): void;
  /** A device newly acked `count` offsets up to `upTo` of this channel at `now`. */
  acked(state: ChannelState, upTo: number, count: number, now: number): void;
  /** A batch appended by another node arrived `ageMs` after its publish. */
  relayed(ageMs: number): void;
}

/** The delivery counters, mutated in place by the delivery code; `snapshot()` copies them out. */
export class StatsCounter {
  readonly values: DeliveryStats = {
    connections: 0,
    published: 0,
    duplicatesIgnored: 0,
    delivered: { live: 0, replay: 0, http: 0 },
    acked: 0,
    redelivered: 0,
    missed: 0,
    dropped: { ttl: 0, superseded: 0, collapsed: 0, irrelevant: 0 },
    droppedBy: emptyDropsByPath(),
    resyncs: 0,
    rejectedFrames: 0,
    authFailures: 0,
    push: {
      candidates: 0,
      suppressedByAck: 0,
      suppressedByRelevance: 0,
      noTarget: 0,
      retries: 0,
      sent: {},
      failed: {},
      gone: {},
    },
    slowConsumers: 0,
    busyRefusals: 0,
    handshakesInProgress: 0,
    rateLimited: {
      connectionAttempts: 0,
      concurrentConnections: 0,
      events: 0,
      disconnects: 0,
      httpPublishes: 0,
      httpRequests: 0,
    },
  };

  /** `resyncs` split by reason (not in `stats()`: the metrics export reads it). */
  readonly resyncsBy: Record<ResyncReason, number> = { epoch: 0, ahead: 0, retention: 0 };
  /** `authFailures` split by reason. */
  readonly authFailuresBy: Record<AuthFailureReason, number> = { unauthorized: 0, token_expired: 0 };
  /** Set by the metrics module when metrics are on. */
  observer: DeliveryObserver | undefined;

  /** Counts `count` readers told to resync (the one place). */
  resync(reason: ResyncReason, count = 1): void {
    this.values.resyncs += count;
    this.resyncsBy[reason] += count;
  }

  /** Counts a message the relevance rules dropped on `path` (relevance-counts.ts). */
  countDrop(path: DropPath, reason: DropReason, count = 1): void {
    countDrop(this, path, reason, count);
  }

  snapshot(): DeliveryStats {
    return structuredClone(this.values);
  }
}
