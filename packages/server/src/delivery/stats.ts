import type { DeliveryStats } from '../api.js';
import { countDrop, emptyDropsByPath, type DropPath, type DropReason } from './relevance-counts.js';

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

  /** Counts a message the relevance rules dropped on `path` (relevance-counts.ts). */
  countDrop(path: DropPath, reason: DropReason, count = 1): void {
    countDrop(this, path, reason, count);
  }

  snapshot(): DeliveryStats {
    return structuredClone(this.values);
  }
}
