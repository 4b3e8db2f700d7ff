/** `retention`: how long the store keeps messages, globally and per channel pattern. */
import { z } from 'zod';

export const retentionSection = z.strictObject({
  maxMessages: z.int().min(1).optional(),
  maxAgeMs: z.int().positive().optional(),
  idempotencyWindowMs: z.int().min(0).optional(),
  /** First match wins; an omitted field keeps the global value. */
  perChannel: z
    .array(
      z.strictObject({
        channels: z.string().min(1),
        maxMessages: z.int().min(1).optional(),
        maxAgeMs: z.int().positive().optional(),
      }),
    )
    .optional(),
});
