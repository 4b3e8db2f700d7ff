import { ErrorCode } from '@tether/protocol';
import type { StatsCounter } from './stats.js';

/**
 * The one rule for counting a refusal, on every path (handshake, socket frames, HTTP): a refused
 * credential is an `authFailures`, malformed input (`bad_request`, `invalid_channel`) a
 * `rejectedFrames`; other refusals (forbidden, limits, shutting down…) have their own counters or
 * none.
 */
export function countRefusal(stats: StatsCounter, code: string): void {
  if (code === ErrorCode.Unauthorized || code === ErrorCode.TokenExpired) {
    stats.values.authFailures++;
    stats.authFailuresBy[code]++;
  } else if (code === ErrorCode.BadRequest || code === ErrorCode.InvalidChannel) stats.values.rejectedFrames++;
}
