/** `node:util` parseArgs with its errors turned into one-line usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends OptionsConfig>(command: string, argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // Node's messages run on with advice about `--`; the first sentence is the useful part.
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(command, (message.split('. ')[0] ?? message).replace(/\.$/, ''));
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
