/**
 * `adminKeys`: keys for the admin endpoints (`GET /v1/stats`, `GET /v1/trace`, the dashboard's
 * data); `dashboard`: the page (`enabled`, `path`). The stats sampling period is `timings.statsIntervalMs`.
 */
import { z } from 'zod';

export const adminKeysSection = z.array(z.string().min(16, 'an admin key must be at least 16 characters'));

export const dashboardSection = z.strictObject({
  enabled: z.boolean().optional(),
  path: z
    .string()
    .regex(/^(\/[A-Za-z0-9_.~-]+)+$/, 'a path such as /dashboard')
    .optional(),
});
