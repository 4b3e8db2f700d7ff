/**
 * The built CLI (`tether serve`) as a child process, as a user runs it: for restarts, SIGTERM and
 * SIGKILL tests. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueToken } from '@tether/server';
import { track } from './processes.js';
import type { TestClaims } from './start-server.js';
import { testLimitsEnv } from './test-limits.js';

/** The CLI of the workspace, from `packages/testing/src` or `packages/testing/dist` alike. */
export const cliPath = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

const LISTENING = /tether listening on (http:\/\/[^\s"]+)/;
const OUTPUT_LIMIT = 256 * 1024;

export interface StartProcessOptions {
  /** `--store`. Default: the CLI's default, `sqlite:<data-dir>/tether.db`. */
  store?: string;
  /** `--data-dir`. Default: a new temp dir, removed by `stop()`. */
  dataDir?: string;
  /**
   * Where secrets come from. Default `env`: random `TETHER_JWT_SECRET` / `TETHER_API_KEY` are passed
   * in. `dev`: none are passed, the CLI creates or reuses `<data-dir>/secrets.json`. `none`: none
   * are passed nor read (a configuration file has them; `secret` and `apiKey` are then empty). Or given ones.
   */
  secrets?: 'env' | 'dev' | 'none' | { jwtSecret: string; apiKey: string };
  /**
   * Extra environment over `process.env` without its `TETHER_*` variables. Default
   * `TETHER_LOG_LEVEL=warn` and `TETHER_LIMITS` lifting the rate limits (see `testLimits`).
   */
  env?: Record<string, string | undefined>;
  /** `--port`. Default 0. */
  port?: number;
  /** `--host`. Default `127.0.0.1`. */
  host?: string;
  /**
   * A configuration file's content (an object, written as JSON to `<data-dir>/tether.config.json`,
   * mode 0600), passed as `--config`. Default none.
   */
  config?: object;
  /** More CLI arguments after `serve`. */
  args?: string[];
  /** Deadline for the `listening on` line. Default 15_000. */
  startTimeoutMs?: number;
  /**
   * A command that runs Node in turn, in the same process, e.g. `['prlimit', '--fsize=1000000:unlimited']`
   * (a file-size limit that `prlimit --pid` can lift later). It must exec, so that `pid` stays the server's.
   */
  wrapper?: string[];
}

export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  /** The JWT secret the process verifies with. */
  secret: string;
  apiKey: string;
  token(claims: TestClaims): Promise<string>;
  /** Everything printed so far (stdout and stderr, interleaved, last 256 KiB). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Sends a signal to this process (by its PID). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5000); removes a temp data dir. Resolves the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** The exit code; null when a signal ended it. */
  exited: Promise<number | null>;
}

export async function startServerProcess(options: StartProcessOptions = {}): Promise<ServerProcess> {
  if (!existsSync(cliPath)) throw new Error(`startServerProcess: ${cliPath} is missing; run 'npm run build' first`);
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tether-proc-')));
  const secrets = options.secrets ?? 'env';
  const given =
    secrets === 'env'
      ? { jwtSecret: randomBytes(32).toString('base64url'), apiKey: `tk_${randomBytes(16).toString('base64url')}` }
      : secrets === 'dev' || secrets === 'none'
        ? undefined
        : secrets;

  // Limits lifted (test-limits.ts) unless the test sets TETHER_LIMITS.
  let configArgs: string[] = [];
  if (options.config !== undefined) {
    const file = path.join(dataDir, 'tether.config.json');
    await writeFile(file, JSON.stringify(options.config, null, 2), { mode: 0o600 });
    configArgs = ['--config', file];
  }
  const env: Record<string, string | undefined> = {
    ...cleanEnv(),
    TETHER_LOG_LEVEL: 'warn',
    TETHER_LIMITS: testLimitsEnv,
  };
  if (given) Object.assign(env, { TETHER_JWT_SECRET: given.jwtSecret, TETHER_API_KEY: given.apiKey });
  Object.assign(env, options.env);
  const args = [
    cliPath,
    'serve',
    '--port',
    String(options.port ?? 0),
    '--host',
    options.host ?? '127.0.0.1',
    '--data-dir',
    dataDir,
    ...(options.store ? ['--store', options.store] : []),
    ...configArgs,
    ...(options.args ?? []),
  ];
  const [command, ...commandArgs] = [...(options.wrapper ?? []), process.execPath, ...args];
  const child = spawn(command!, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('startServerProcess: spawn failed');

  let all = '';
  let out = '';
  let err = '';
  const keep = (text: string, add: string): string => (text + add).slice(-OUTPUT_LIMIT);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out = keep(out, chunk);
    all = keep(all, chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err = keep(err, chunk);
    all = keep(all, chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let url: string;
  try {
    url = await waitForListening(child, () => all, exited, options.startTimeoutMs ?? 15_000);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  const { jwtSecret, apiKey } =
    given ?? (secrets === 'none' ? { jwtSecret: '', apiKey: '' } : await readDevSecrets(dataDir, env));

  let stopping: Promise<number | null> | undefined;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    dataDir,
    secret: jwtSecret,
    apiKey,
    token: (claims) => issueToken({ ...(typeof claims === 'string' ? { sub: claims } : claims), secret: jwtSecret }),
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: (timeoutMs = 5000) =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const code = await exited;
        clearTimeout(timer);
        if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
        return code;
      })()),
    exited,
  };
}

function waitForListening(
  child: { pid?: number | undefined; stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream },
  output: () => string,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const match = LISTENING.exec(output());
      if (match?.[1]) {
        cleanup();
        // The banner shows the bound host (0.0.0.0 for a wildcard); clients connect on loopback.
        resolve(match[1].replace('//0.0.0.0:', '//127.0.0.1:'));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`startServerProcess: no 'listening on' line within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
    };
    // Registered after the collectors in startServerProcess, so `output()` already holds the chunk.
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    void exited.then((code) => {
      cleanup();
      reject(new Error(`startServerProcess: exited with code ${code} before listening:\n${output()}`));
    });
  });
}

async function readDevSecrets(
  dataDir: string,
  env: Record<string, string | undefined>,
): Promise<{ jwtSecret: string; apiKey: string }> {
  const file = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<string, unknown>;
  return {
    jwtSecret: env['TETHER_JWT_SECRET'] ?? String(file['jwtSecret']),
    apiKey: env['TETHER_API_KEY'] ?? String(file['apiKey']),
  };
}

/** The caller's environment minus `TETHER_*`, so that a developer's shell does not leak into tests. */
function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TETHER_')));
}
