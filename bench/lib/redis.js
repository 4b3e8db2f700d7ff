/**
 * A private redis-server for a bench run: a free loopback port, no persistence (`--save ""
 * --appendonly no`), a temp dir, killed by its PID when the run ends (normally, on error, on a
 * signal) — and by a small `sh` watchdog if this process is killed without running exit hooks.
 * Never the system Redis on 6379.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs redis-server in the background, prints its PID, and kills it when $1 (our PID) is gone. */
const WATCHDOG = `
watch=$1; shift
redis-server "$@" &
child=$!
echo "bench-redis-pid $child"
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$watch" 2>/dev/null; then kill -9 "$child" 2>/dev/null; exit 0; fi
  sleep 0.5
done
`;

/** @type {Set<number>} */
const live = new Set();
let hooked = false;

function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** One inline command (`PING`, `INFO server`) on a fresh connection; resolves the raw reply text. */
export function redisCommand(port, command, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${command}: timeout`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      // A simple string, an error, or a complete bulk string.
      const bulk = /^\$(\d+)\r\n/.exec(text);
      if ((text[0] === '+' || text[0] === '-') && text.endsWith('\r\n')) done();
      else if (bulk && Buffer.byteLength(text) >= bulk[0].length + Number(bulk[1]) + 2) done();
    });
    function done() {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    }
    socket.write(`${command}\r\n`);
  });
}

/**
 * @returns {Promise<{url: string, port: number, pid: number, cpuMs: () => number | null, stop: () => Promise<void>}>}
 */
export async function startBenchRedis(timeoutMs = 10_000) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-redis-'));
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
    'no',
  ];
  args.push('--dir', dir, '--daemonize', 'no', '--loglevel', 'warning');
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'bench-redis', String(process.pid), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  watchdog.stdout.on('data', (chunk) => (out += chunk.toString('utf8')));
  const exited = new Promise((resolve) => watchdog.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  let pid = 0;
  for (;;) {
    pid = Number(/bench-redis-pid (\d+)/.exec(out)?.[1] ?? 0);
    if (pid > 0) {
      try {
        // Ours, not another server that took the port meanwhile.
        const info = await redisCommand(port, 'INFO server');
        if (Number(/process_id:(\d+)/.exec(info)?.[1]) === pid) break;
      } catch {
        // not listening yet
      }
    }
    if (watchdog.exitCode !== null || Date.now() > deadline) {
      if (pid > 0) killPid(pid);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`bench: redis-server on port ${port} did not start: ${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  live.add(pid);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of live) killPid(p);
    });
  }
  const clockTicks = 100; // USER_HZ on Linux
  let stopped = null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid,
    /** CPU time (user + system) of the redis-server process so far, from /proc; null elsewhere. */
    cpuMs() {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
      } catch {
        return null;
      }
    },
    stop() {
      stopped ??= (async () => {
        killPid(pid);
        live.delete(pid);
        await exited;
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
