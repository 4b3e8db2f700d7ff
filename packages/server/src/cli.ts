#!/usr/bin/env node
/** The `tether` command: dispatches to `serve`, `token`, `genconfig`, `check-config` (their code lives in `cli/`). */
import { readFileSync } from 'node:fs';
import { describeFailure, UsageError } from './cli/errors.js';
import { mainHelp } from './cli/help.js';
import type { Output } from './cli/output.js';

const out: Output = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    // Loaded on demand: `token` and `--help` need not load Socket.IO, fastify and the stores.
    case 'serve':
      return (await import('./cli/serve.js')).runServe(rest, process.env, out);
    case 'token':
      return (await import('./cli/token.js')).runToken(rest, process.env, out);
    case 'genconfig':
      return (await import('./cli/config-commands.js')).runGenconfig(rest, out);
    case 'check-config':
      return (await import('./cli/config-commands.js')).runCheckConfig(rest, out);
    case 'help':
    case '--help':
    case '-h':
      out.stdout(mainHelp);
      return;
    case '--version':
    case '-v':
      out.stdout(version() + '\n');
      return;
    case undefined:
      throw new UsageError('', 'missing command (serve, token, genconfig or check-config)');
    default:
      throw new UsageError('', `unknown command '${command}'`);
  }
}

function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  const { line, exitCode } = describeFailure(err);
  process.stderr.write(line + '\n');
  // Exit now: a half-started server may still hold handles that would keep the process alive.
  process.exit(exitCode);
}
