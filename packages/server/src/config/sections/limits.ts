/** `limits`: sizes, caps and rate limits (the server's size options and its `limits` group, flat). */
import { z } from 'zod';

const count = z.int().min(0);
const positive = z.int().positive();

export const limitsSection = z.strictObject({
  // sizes and caps (top-level server options)
  maxPayloadBytes: positive.optional(),
  maxDataDepth: positive.optional(),
  maxInvalidFramesPerMinute: positive.optional(),
  maxChannelsPerConnection: positive.optional(),
  maxQueuedBytes: positive.optional(),
  maxBatchBytes: positive.optional(),
  maxRedeliveryBytesPerSweep: positive.optional(),
  replayBatchSize: positive.optional(),
  priorityLookahead: positive.optional(),
  maxHistoryLimit: positive.optional(),
  recentPerChannel: positive.optional(),
  replayCacheBytes: count.optional(),
  /** Pages of SQLite write-ahead log after which a commit checkpoints it. Default 10_000. */
  sqliteCheckpointPages: positive.optional(),
  /** A checkpoint off the event loop at most this often, ms; 0: none. Default 1000. */
  sqliteCheckpointIntervalMs: count.optional(),
  // overload: new connections refused with `server_busy` while the event loop lags or too many handshakes are in progress (0: never)
  busyLoopLagMs: count.optional(),
  busyRetryAfterMs: positive.optional(),
  maxHandshakesInProgress: count.optional(),
  broadcastChunkSize: positive.optional(),
  broadcastSliceMs: z.number().positive().optional(),
  // rate limits and connection caps (the server's `limits` group; 0 turns one off)
  connectionAttemptsPerSecondPerIp: count.optional(),
  connectionAttemptBurstPerIp: count.optional(),
  maxConnectionsPerIp: count.optional(),
  maxConnections: count.optional(),
  eventsPerMinutePerUser: count.optional(),
  eventsPerMinutePerConnection: count.optional(),
  maxRefusalsPerConnection: count.optional(),
  httpPublishesPerSecondPerApiKey: count.optional(),
  httpRequestsPerMinutePerUser: count.optional(),
  dryRun: z.boolean().optional(),
});

/** The keys that belong to the server's `limits` group (the rest are top-level options). */
export { LIMIT_KEYS as LIMIT_GROUP_KEYS } from '../../limits/limit-options.js';
