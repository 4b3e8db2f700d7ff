/**
 * Private `redis-server` processes for tests: each on its own free loopback port and temp dir, with
 * or without AOF, killable and restartable on the same port and dir. Never the system Redis on
 * 6379: a test that needs Redis starts its own and flushes only that one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface StartRedisOptions {
  /**
   * `--appendonly yes` with `appendfsync always`: every acknowledged write survives a kill and
   * restart. (`everysec` may postpone the write itself by up to 2 s while an fsync is slow and still
   * answer the client, so a SIGKILL test would lose acknowledged writes now and then.) Default false.
   */
  appendonly?: boolean;
  /** Working dir (AOF files). Default: a new temp dir, removed by `stop()`. */
  dir?: string;
  /** Default: a free port. */
  port?: number;
  /** Deadline for the first PONG. Default 10_000. */
  startTimeoutMs?: number;
  /** The process whose death kills this redis-server (and removes its temp dir). Default: this one. */
  watchPid?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  dir: string;
  /** Signals the current process (by PID) and resolves once it has exited. Default SIGKILL. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port and dir (SIGKILLing the current process first if alive). */
  restart(): Promise<void>;
  /** Kills the process and removes a temp dir this launcher created. Idempotent. */
  stop(): Promise<void>;
  /** One command on a fresh connection, e.g. `command('FLUSHDB')`. Rejects with a Redis error reply. */
  command(...args: Array<string | number>): Promise<RespValue>;
}

export type RespValue = string | number | null | RespValue[];

/**
 * redis-server runs under a small `sh` watchdog, because a test process does not always get to run
 * exit handlers (vitest ends its workers with a signal): the watchdog kills its redis-server (by
 * PID) and removes a temp dir of ours within ~0.5 s of this process going away. It prints the
 * redis-server's PID first, then waits for it, so the `sh` process exits when Redis does.
 * Arguments: $1 the PID to watch, $2 a dir to remove after (or ''), then redis-server's own.
 */
const WATCHDOG = `
watch=$1; own_dir=$2; shift 2
redis-server "$@" &
child=$!
echo "tether-redis-pid $child"
(
  while kill -0 "$child" 2>/dev/null; do
    if ! kill -0 "$watch" 2>/dev/null; then
      kill -9 "$child" 2>/dev/null
      sleep 0.2
      if [ -n "$own_dir" ]; then rm -rf "$own_dir"; fi
      exit 0
    fi
    sleep 0.5
  done
) </dev/null >/dev/null 2>&1 &
wait "$child"
`;

/** A running redis-server: its watchdog (our child) and the server's own PID. */
interface Launched {
  watchdog: ChildProcess;
  pid: number;
}

/** Temp dirs and servers to clean up when the test process exits normally (the watchdog covers the rest). */
const ownDirs = new Set<string>();
const live = new Set<Launched>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const server of live) killPid(server.pid, 'SIGKILL');
    for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
  });
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  hookExit();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'tether-redis-'));
  if (ownDir) ownDirs.add(dir);
  const appendonly = options.appendonly ?? false;
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const launchOn = (port: number): Promise<Launched> =>
    launch({
      port,
      dir,
      appendonly,
      timeoutMs,
      removeDir: ownDir ? dir : '',
      watchPid: options.watchPid ?? process.pid,
    });

  let port = options.port ?? 0;
  let first: Launched | undefined;
  try {
    // A free port can be taken between our probe and Redis' bind: try a few (only when we chose it).
    for (let attempt = 0; first === undefined; attempt += 1) {
      const candidate = port === 0 ? await freePort() : port;
      try {
        first = await launchOn(candidate);
        port = candidate;
      } catch (err) {
        if (options.port !== undefined || attempt >= 4 || !(err instanceof PortInUseError)) throw err;
      }
    }
  } catch (err) {
    if (ownDir) removeDir(dir);
    throw err;
  }

  let current: Launched = first;
  let stopped: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const exited = exitOf(current.watchdog);
    if (isAlive(current.watchdog)) killPid(current.pid, signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.pid;
    },
    dir,
    kill,
    restart: async () => {
      if (stopped !== undefined) throw new Error('restart: this redis-server was stopped');
      if (isAlive(current.watchdog)) await kill('SIGKILL');
      current = await launchOn(port);
    },
    stop: () =>
      (stopped ??= (async () => {
        if (isAlive(current.watchdog)) await kill('SIGKILL');
        if (ownDir) removeDir(dir);
      })()),
    command: (...args) => respCommand(port, args),
  };
}

class PortInUseError extends Error {}

interface LaunchOptions {
  port: number;
  dir: string;
  appendonly: boolean;
  timeoutMs: number;
  /** Removed by the watchdog if the watched process dies first ('' for none). */
  removeDir: string;
  watchPid: number;
}

/**
 * Spawns redis-server (under its watchdog) and resolves once it answers PING (after loading its
 * AOF) and INFO shows its own PID, so that another server that took the port is never mistaken
 * for ours.
 */
async function launch({ port, dir, appendonly, timeoutMs, removeDir, watchPid }: LaunchOptions): Promise<Launched> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--save',
    '',
    '--appendonly',
    appendonly ? 'yes' : 'no',
    '--appendfsync',
    appendonly ? 'always' : 'everysec',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'tether-redis', String(watchPid), removeDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-16_384);
  };
  watchdog.stdout?.on('data', collect);
  watchdog.stderr?.on('data', collect);
  const spawnFailed = new Promise<never>((_, reject) =>
    watchdog.once('error', (err) => reject(new Error(`startRedis: cannot spawn sh: ${err.message}`))),
  );
  const exited = exitOf(watchdog).then(() => {
    const message = `startRedis: redis-server on port ${port} exited before answering PING:\n${output}`;
    throw /Address already in use/i.test(output) ? new PortInUseError(message) : new Error(message);
  });
  // Handled here, raced below: a later, expected exit must not become an unhandled rejection.
  exited.catch(() => undefined);
  spawnFailed.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  const ready = (async (): Promise<Launched | undefined> => {
    for (;;) {
      const pid = Number(/tether-redis-pid (\d+)/.exec(output)?.[1] ?? 0);
      if (pid > 0) {
        try {
          if ((await respCommand(port, ['PING'], 1000)) === 'PONG') {
            const info = String(await respCommand(port, ['INFO', 'server'], 1000));
            if (Number(/process_id:(\d+)/.exec(info)?.[1]) === pid) return { watchdog, pid };
          }
        } catch {
          // Not listening yet, or still loading the AOF (-LOADING): try again.
        }
      }
      if (!isAlive(watchdog)) return undefined;
      if (Date.now() > deadline) throw new Error(`startRedis: no PONG on port ${port} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  let launched: Launched | undefined;
  try {
    launched = await Promise.race([ready, exited, spawnFailed]);
    if (launched === undefined) await Promise.race([exited, spawnFailed]);
  } catch (err) {
    const pid = Number(/tether-redis-pid (\d+)/.exec(output)?.[1] ?? 0);
    if (pid > 0 && isAlive(watchdog)) killPid(pid, 'SIGKILL');
    throw err;
  }
  if (launched === undefined) throw new Error(`startRedis: redis-server on port ${port} did not start`);
  const server = launched;
  live.add(server);
  watchdog.once('exit', () => live.delete(server));
  return server;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Only ever a redis-server we started, by its PID. */
function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  ownDirs.delete(dir);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * One RESP command on its own connection: enough for test setup (FLUSHDB, SET, GET, CONFIG), with
 * no client library in this package.
 */
export function respCommand(port: number, args: ReadonlyArray<string | number>, timeoutMs = 5000): Promise<RespValue> {
  return new Promise<RespValue>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`redis command ${String(args[0])} timed out`)), timeoutMs);
    const finish = (err: Error | null, value?: RespValue): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error('connection closed before a reply')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const parsed = parseResp(buffer, 0);
        if (parsed === undefined) return;
        if (parsed.value instanceof Error) finish(parsed.value);
        else finish(null, parsed.value);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const parts = args.map((arg) => Buffer.from(String(arg), 'utf8'));
    const frames = [Buffer.from(`*${parts.length}\r\n`)];
    for (const part of parts) frames.push(Buffer.from(`$${part.length}\r\n`), part, Buffer.from('\r\n'));
    socket.write(Buffer.concat(frames));
  });
}

interface Parsed {
  value: RespValue | Error;
  end: number;
}

/** Parses one RESP2 value at `start`; undefined while incomplete. */
function parseResp(buffer: Buffer, start: number): Parsed | undefined {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buffer[start] ?? 0);
  const line = buffer.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (kind) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i += 1) {
        const item = parseResp(buffer, at);
        if (item === undefined) return undefined;
        // An error inside an array (EXEC) is kept as its message.
        items.push(item.value instanceof Error ? item.value.message : item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(kind)}`);
  }
}
