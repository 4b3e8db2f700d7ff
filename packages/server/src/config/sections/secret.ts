/**
 * A secret in the configuration file: the value itself, or where to read it, so that the file can
 * be committed without it: `{"file": PATH}` (its content, trailing newline dropped) or
 * `{"env": NAME}` (an environment variable). Read by `readSecret` when the file becomes options.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../cli/errors.js';

export const secretSource = z.union([
  z.string().min(1),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ env: z.string().min(1) }),
]);

export type SecretSource = z.infer<typeof secretSource>;

/** The secret's value; `field` (e.g. `push.webpush.vapidPrivateKey`) names it in a `ConfigError`. */
export function readSecret(source: SecretSource, field: string, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof source === 'string') return source;
  if ('file' in source) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${field}: cannot read ${source.file}: ${(err as Error).message}`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (value.length === 0) throw new ConfigError(`${field}: ${source.file} is empty`);
    return value;
  }
  const value = env[source.env];
  if (value === undefined || value.length === 0)
    throw new ConfigError(`${field}: the environment variable ${source.env} is not set`);
  return value;
}
