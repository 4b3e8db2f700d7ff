/**
 * `relevance`: the data part of the relevance rules, by message type (`*`: every type without its
 * own rule). The `isRelevant` hook is code: it stays a library option.
 */
import { z } from 'zod';

export const relevanceRuleSection = z.strictObject({
  /** Milliseconds after `ts` after which messages of this type are skipped on replay. */
  ttl: z.int().positive().optional(),
  /** Skip this message when a later message of one of these types is in the log. */
  supersededBy: z.array(z.string().min(1)).optional(),
  /**
   * A field of `data` (a dotted path, e.g. `driverId` or `driver.id`): of messages of this type with
   * the same value there, only the latest is replayed.
   */
  collapseKey: z.string().min(1).optional(),
});

export const relevanceSection = z.record(z.string().min(1), relevanceRuleSection);
