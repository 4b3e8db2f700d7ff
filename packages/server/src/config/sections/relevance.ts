/**
 * `relevance`: the data part of the relevance rules, by message type (`*`: every type without its
 * own rule). The `isRelevant` hook is code: it stays a library option.
 */
import { z } from 'zod';

export const relevanceRuleSection = z
  .strictObject({
    /** Milliseconds after `ts` after which messages of this type are dropped (on every path; the SDK too). */
    ttl: z.int().positive().optional(),
    /**
     * Drop this message when a later message of one of these types is in the log: type-wide without
     * `scope`, only one with the same scope value with it.
     */
    supersededBy: z.array(z.string().min(1)).optional(),
    /**
     * What scopes `supersededBy`: a dotted path into `data` (e.g. `tripId`) read from both messages,
     * or `collapseKey` for the messages' own collapse keys. Absent: type-wide.
     */
    scope: z.string().min(1).optional(),
    /**
     * A field of `data` (a dotted path, e.g. `driverId` or `driver.id`): of messages of this type with
     * the same value there, only the latest is kept.
     */
    collapseKey: z.string().min(1).optional(),
  })
  .refine((rule) => rule.scope === undefined || rule.supersededBy !== undefined, {
    message: 'scope needs supersededBy (it scopes it)',
    path: ['scope'],
  });

export const relevanceSection = z.record(z.string().min(1), relevanceRuleSection);
