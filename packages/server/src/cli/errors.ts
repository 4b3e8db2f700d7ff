/**
 * The CLI's kinds of failure. A `UsageError` is the user's mistake on the command line (exit 2,
 * with a pointer to `--help`); a `ConfigError` is a mistake in the configuration around it — a
 * setting the server refuses, a secrets file that cannot be trusted (exit 2); a `CliError` is a
 * problem of the environment (exit 1).
 */

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose `--help` explains the mistake, e.g. `serve`; empty for the top level. */
  readonly command: string;

  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}

export class CliError extends Error {
  override readonly name = 'CliError';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** One line for stderr, and the exit code, for anything a command throws. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof UsageError) {
    const prefix = err.command ? `tether ${err.command}` : 'tether';
    return { line: `${prefix}: ${err.message} (see '${prefix} --help')`, exitCode: 2 };
  }
  const message = err instanceof Error ? err.message : String(err);
  // A configuration file's check reports every mistake, one line each.
  if (err instanceof ConfigError) {
    return {
      line: message
        .split('\n')
        .map((line) => `tether: ${line}`)
        .join('\n'),
      exitCode: 2,
    };
  }
  const exitCode = 1;
  return { line: `tether: ${message.split('\n')[0] ?? message}`, exitCode };
}
