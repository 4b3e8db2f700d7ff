/**
 * `alerts`: where alerts go and when (docs/operations.md, "Alerts"), the library option `alerts`
 * with the same names. Webhook URLs of Discord and Slack carry their token, and the SMTP password
 * is one: each is the value, `{"file": PATH}` or `{"env": NAME}` (sections/secret.ts).
 */
import { z } from 'zod';
import { secretSource } from './secret.js';

const ms = z.int().positive();
const count = z.int().min(0);

export const alertsSection = z.strictObject({
  discord: z.strictObject({ url: secretSource, username: z.string().min(1).max(80).optional() }).optional(),
  slack: z.strictObject({ url: secretSource }).optional(),
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      /** `whsec_` + base64 of 24–64 random bytes (Standard Webhooks); checked when the server starts. */
      secret: secretSource,
      headers: z.record(z.string().min(1), z.string()).optional(),
    })
    .optional(),
  email: z
    .strictObject({
      host: z.string().min(1),
      port: z.int().min(1).max(65_535).optional(),
      secure: z.boolean().optional(),
      user: secretSource.optional(),
      pass: secretSource.optional(),
      from: z.string().includes('@'),
      to: z.union([z.string().includes('@'), z.array(z.string().includes('@')).min(1)]),
    })
    .refine((email) => (email.user === undefined) === (email.pass === undefined), {
      message: 'set both user and pass, or neither',
    })
    .optional(),
  cooldownMs: ms.optional(),
  checkIntervalMs: ms.optional(),
  windowMs: ms.optional(),
  deliveryRatioBelow: z.number().min(0).max(1).optional(),
  minDeliveries: count.optional(),
  missedPerWindow: count.optional(),
  slowConsumersPerWindow: count.optional(),
  timeoutMs: ms.optional(),
  maxAttempts: ms.optional(),
  retryBaseMs: ms.optional(),
});

export type AlertsSection = z.infer<typeof alertsSection>;
