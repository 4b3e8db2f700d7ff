/**
 * Test servers start with the rate limits and connection caps lifted: a test opens dozens of
 * connections and sends hundreds of frames from 127.0.0.1 within a second, far above what one real
 * client may (docs/architecture.md §6). A test of the limits passes its own `limits` (merged over these), or
 * the server's `defaults.limits` to run with the real ones.
 */
import { noLimits, type TetherServerOptions } from '@tether/server';

/** 0 turns a limit off. */
export const testLimits: NonNullable<TetherServerOptions['limits']> = noLimits;

/** The same for `tether serve` (`TETHER_LIMITS`). */
export const testLimitsEnv = Object.entries(testLimits)
  .map(([name, value]) => `${name}=${String(value)}`)
  .join(',');
