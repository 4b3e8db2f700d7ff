/**
 * `presence`: user status and channel presence (docs/presence.md), all durations in ms. Present
 * (even `{}`): presence is on. The `onLastActive` hook and a custom `store` are code: library options.
 */
import { z } from 'zod';

const ms = z.int().nonnegative();

export const presenceChannelRuleSection = z.strictObject({
  /** A channel glob (`room:*`). */
  pattern: z.string().min(1),
  /** `members` (default) or `counts` (only how many: big channels). */
  mode: z.enum(['members', 'counts']).optional(),
});

export const presenceSection = z.strictObject({
  channels: z.array(presenceChannelRuleSection).optional(),
  graceMs: ms.optional(),
  batchMs: ms.optional(),
  batchMsPerMember: z.number().nonnegative().optional(),
  maxBatchMs: ms.optional(),
  countsIntervalMs: ms.optional(),
  lastActiveThrottleMs: ms.optional(),
});
