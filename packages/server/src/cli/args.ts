/** Command-line parsing helpers around `node:util` parseArgs. */
import { UsageError } from './errors.js';

/**
 * Runs a `parseArgs` call, turning its errors into one-line usage errors. (A wrapper that calls
 * parseArgs itself cannot be exported: its return type names types @types/node does not export.)
 */
export function withUsageErrors<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    // Node's messages run on with advice about `--`; the first sentence is the useful part.
    const message = err instanceof Error ? err.message : String(err);
    const first = (message.split('. ')[0] ?? message).replace(/\.$/, '');
    throw new UsageError(command, first.charAt(0).toLowerCase() + first.slice(1));
  }
}

/** A comma-separated list (`a,b, c`) as an array, without empty items. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
