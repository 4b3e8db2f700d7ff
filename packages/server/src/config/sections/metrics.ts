/** `metrics`: the Prometheus endpoint (docs/operations.md, "Monitoring"); same names as the `metrics` option. */
import { z } from 'zod';

export const metricsSection = z.strictObject({
  enabled: z.boolean().optional(),
  /** Default `/metrics`. */
  path: z
    .string()
    .regex(/^\/[^?#\s]*$/, 'expected a path starting with /')
    .optional(),
  /** Serve on this port, without a key. Default none: the server's port, for an admin key. */
  port: z.int().min(0).max(65_535).optional(),
  /** The interface of `port`. Default `127.0.0.1`. */
  host: z.string().min(1).optional(),
  nodeMetrics: z.boolean().optional(),
  maxNamespaces: z.int().min(1).optional(),
  successWindowMs: z.number().positive().optional(),
});
