/** `http`: who may reach the server and how (CORS, proxies, transports). */
import { z } from 'zod';

export const httpSection = z.strictObject({
  corsOrigins: z.array(z.string().min(1)).optional(),
  trustedProxies: z.array(z.string().min(1)).optional(),
  allowPollingTransport: z.boolean().optional(),
  socketPath: z.string().startsWith('/').optional(),
  /** The TCP accept queue of `listen()`; Linux caps it at `net.core.somaxconn`. Default 4096. */
  listenBacklog: z.int().positive().optional(),
  /** GET /healthz and /readyz also on this port, a listener of their own (probes). Default none. */
  probePort: z.int().min(0).max(65_535).optional(),
  /** The interface of probePort. Default 127.0.0.1. */
  probeHost: z.string().min(1).optional(),
  /** WebSocket compression: true (frames ≥ 1024 bytes), false, or { threshold: bytes }. */
  perMessageDeflate: z
    .union([z.boolean(), z.strictObject({ threshold: z.number().int().min(0).optional() })])
    .optional(),
});
