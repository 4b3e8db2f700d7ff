/** `tether genconfig` and `tether check-config`. */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { checkConfigFile } from '../config/check.js';
import { generateConfig } from '../config/generate.js';
import { withUsageErrors } from './args.js';
import { CliError, UsageError } from './errors.js';
import { checkConfigHelp, genconfigHelp } from './help.js';
import type { Output } from './output.js';

export async function runGenconfig(argv: readonly string[], out: Output): Promise<void> {
  const { values } = withUsageErrors('genconfig', () =>
    parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }),
  );
  if (values.help) return void out.stdout(genconfigHelp);
  const text = generateConfig();
  if (values.out === undefined) return void out.stdout(text);
  try {
    // wx: never overwrite a file that may hold the secrets in use.
    await writeFile(values.out, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new CliError(`cannot write ${values.out}: ${(err as Error).message}`);
  }
  out.stderr(`wrote ${values.out} (mode 0600)\n`);
}

export async function runCheckConfig(argv: readonly string[], out: Output): Promise<void> {
  const { values, positionals } = withUsageErrors('check-config', () =>
    parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }),
  );
  if (values.help) return void out.stdout(checkConfigHelp);
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError('check-config', 'missing the configuration file');
  if (extra.length > 0) throw new UsageError('check-config', `unexpected argument '${extra[0]}'`);
  checkConfigFile(file);
  out.stdout(`config ${file}: ok\n`);
}
