/**
 * A private redis-server for the example's two Tether nodes: its own free loopback port, no
 * persistence, a temp dir. It runs under a small `sh` watchdog that kills it (by PID) when this
 * process goes away, even by SIGKILL, so a stopped example leaves no Redis behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const WATCHDOG = `
watch=$1; shift
redis-server "$@" &
child=$!
echo "redis-pid $child"
( while kill -0 "$child" 2>/dev/null; do
    if ! kill -0 "$watch" 2>/dev/null; then kill -9 "$child"; exit 0; fi
    sleep 0.5
  done ) </dev/null >/dev/null 2>&1 &
wait "$child"
`;

/** A free loopback port (the kernel's pick; redis-server cannot take port 0 itself). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export async function startRedis({ timeoutMs = 10_000 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'store-backoffice-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'redis-watchdog', String(process.pid), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pid = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const read = (chunk) => {
      output += chunk;
      pid ||= Number(/redis-pid (\d+)/.exec(output)?.[1] ?? 0);
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    watchdog.stdout.on('data', read);
    watchdog.stderr.on('data', read);
    watchdog.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    });
  });
  watchdog.stdout.resume();
  watchdog.stderr.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (watchdog.exitCode === null) {
        const exited = new Promise((resolve) => watchdog.once('exit', resolve));
        process.kill(pid, 'SIGKILL'); // the shell waits on redis-server, and exits with it
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
