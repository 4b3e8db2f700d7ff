/** `server`: where `tether serve` listens and keeps its data (the CLI's own settings). */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const serverSection = z.strictObject({
  /** Interface to bind. Default `127.0.0.1`. */
  host: z.string().min(1).optional(),
  /** Port; 0 picks a free one. Default 8080. */
  port: z.int().min(0).max(65_535).optional(),
  /** Database and dev secrets; relative to the working directory. Default `./data`. */
  dataDir: z.string().min(1).optional(),
  /** `memory`, `sqlite:PATH` or `redis://HOST:PORT`. Default `sqlite:<dataDir>/tether.db`. */
  store: z
    .string()
    .regex(/^(memory|sqlite:.+|rediss?:\/\/.+)$/, 'expected memory, sqlite:PATH or redis://HOST:PORT')
    .optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  /** `json`, `pretty` (pino-pretty) or `auto` (pretty when stdout is a terminal). Default `auto`. */
  logFormat: z.enum(['json', 'pretty', 'auto']).optional(),
});
