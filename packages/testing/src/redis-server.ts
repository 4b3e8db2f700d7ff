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
import { track } from './processes.js';

export interface StartRedisOptions {
  /** `--appendonly yes` (with `appendfsync everysec`): data survives a kill and restart. Default false. */
  appendonly?: boolean;
  /** Working dir (AOF files). Default: a new temp dir, removed by `stop()`. */
  dir?: string;
  /** Default: a free port. */
  port?: number;
  /** Deadline for the first PONG. Default 10_000. */
  startTimeoutMs?: number;
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

/** Temp dirs to remove when the test process exits, in case a test never called `stop()`. */
const ownDirs = new Set<string>();
const ownChildren = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const child of ownChildren) killQuietly(child, 'SIGKILL');
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

  let port = options.port ?? 0;
  let child: ChildProcess | undefined;
  try {
    // A free port can be taken between our probe and Redis' bind: try a few (only when we chose it).
    for (let attempt = 0; child === undefined; attempt += 1) {
      const candidate = port === 0 ? await freePort() : port;
      try {
        child = await launch(candidate, dir, appendonly, timeoutMs);
        port = candidate;
      } catch (err) {
        if (options.port !== undefined || attempt >= 4 || !(err instanceof PortInUseError)) throw err;
      }
    }
  } catch (err) {
    if (ownDir) removeDir(dir);
    throw err;
  }

  let current: ChildProcess = child;
  let stopped: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const exited = exitOf(current);
    killQuietly(current, signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.pid ?? -1;
    },
    dir,
    kill,
    restart: async () => {
      if (stopped !== undefined) throw new Error('restart: this redis-server was stopped');
      if (isAlive(current)) await kill('SIGKILL');
      current = await launch(port, dir, appendonly, timeoutMs);
    },
    stop: () =>
      (stopped ??= (async () => {
        if (isAlive(current)) await kill('SIGKILL');
        if (ownDir) removeDir(dir);
      })()),
    command: (...args) => respCommand(port, args),
  };
}

class PortInUseError extends Error {}

/** Spawns redis-server and resolves once it answers PING (after loading its AOF). */
async function launch(port: number, dir: string, appendonly: boolean, timeoutMs: number): Promise<ChildProcess> {
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
    'everysec',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  ownChildren.add(child);
  child.once('exit', () => ownChildren.delete(child));
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`startRedis: cannot spawn redis-server: ${err.message}`))),
  );
  const exited = exitOf(child).then(() => {
    const message = `startRedis: redis-server on port ${port} exited before answering PING:\n${output}`;
    throw /Address already in use/i.test(output) ? new PortInUseError(message) : new Error(message);
  });
  // Handled here, raced below: a later, expected exit must not become an unhandled rejection.
  exited.catch(() => undefined);
  spawnFailed.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    for (;;) {
      try {
        if ((await respCommand(port, ['PING'], 1000)) === 'PONG') return;
      } catch {
        // Not listening yet, or still loading the AOF (-LOADING): try again.
      }
      if (!isAlive(child)) return;
      if (Date.now() > deadline) throw new Error(`startRedis: no PONG on port ${port} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    await Promise.race([ready, exited, spawnFailed]);
    if (!isAlive(child)) await Promise.race([exited, spawnFailed]);
  } catch (err) {
    killQuietly(child, 'SIGKILL');
    throw err;
  }
  return child;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Only ever our own child, by its PID. */
function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || !isAlive(child)) return;
  try {
    process.kill(child.pid, signal);
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
