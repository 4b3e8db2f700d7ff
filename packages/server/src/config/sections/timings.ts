/** `timings`: acks and redelivery, pruning, cluster head checks, Socket.IO pings, long polls. */
import { z } from 'zod';

const ms = z.int().positive();

export const timingsSection = z.strictObject({
  ackTimeoutMs: ms.optional(),
  retryAckTimeoutMs: ms.optional(),
  retryDelayMs: ms.optional(),
  maxRetries: z.int().min(0).optional(),
  redeliveryBackoff: z.number().min(1).optional(),
  redeliveryMaxLoopLagMs: ms.optional(),
  pruneIntervalMs: ms.optional(),
  headCheckIntervalMs: z.int().min(10).max(3_600_000).optional(),
  pingIntervalMs: ms.optional(),
  pingTimeoutMs: ms.optional(),
  connectTimeoutMs: ms.optional(),
  maxPollWaitSeconds: z.number().min(0).optional(),
  /** `/v1/stats` rates and each node's shared figures are sampled this often. Default 5000. */
  statsIntervalMs: ms.optional(),
});
