/**
 * Reads and checks a configuration file. JSON, where any object may hold `"//"` keys as comments
 * (`tether genconfig` writes them; they are dropped before the check). Every mistake is one line
 * `config PATH: field.path: what is wrong`; all of them are reported at once, as a `ConfigError`
 * (exit 2).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../cli/errors.js';
import { issueLines } from './issues.js';
import { configSchema, type FileConfig } from './schema.js';

/** The comment key: any object in the file may hold one (a string or a list of strings). */
export const COMMENT_KEY = '//';

export function loadConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config ${file}: cannot read it: ${(err as Error).message}`);
  }
  return parseConfig(text, file);
}

/** Checks `text` (the file's content); `file` names it in the messages. */
export function parseConfig(text: string, file: string): FileConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${file}: not valid JSON: ${(err as Error).message}`);
  }
  const result = configSchema.safeParse(withoutComments(json), { reportInput: true });
  if (result.success) return result.data;
  const lines = issueLines(result.error.issues, configSchema).map((line) => `config ${file}: ${line}`);
  throw new ConfigError(lines.join('\n'));
}

function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== COMMENT_KEY)
      .map(([key, inner]) => [key, withoutComments(inner)]),
  );
}
