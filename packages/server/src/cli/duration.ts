/** Durations as people type them on a command line: `30s`, `15m`, `1h`, `7d`, or plain seconds. */

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(\d+)([smhd]?)$/;

/** Parses a duration into whole seconds; throws a RangeError (with the grammar) on anything else. */
export function parseDurationSeconds(text: string): number {
  const match = DURATION.exec(text.trim());
  const amount = match?.[1];
  if (match === null || amount === undefined) {
    throw new RangeError(`invalid duration '${text}' (expected e.g. 30s, 15m, 1h, 7d or a number of seconds)`);
  }
  const seconds = Number(amount) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
  if (seconds <= 0 || !Number.isSafeInteger(seconds)) {
    throw new RangeError(`invalid duration '${text}' (must be positive)`);
  }
  return seconds;
}
