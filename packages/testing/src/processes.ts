/**
 * Every child process this package starts, so that none outlives the test run: at exit, the ones
 * still alive are killed by their PID (only ours, never by name). Exit handlers do not run when
 * the test process itself is killed (vitest ends its workers with a signal), so each child also
 * gets a small `sh` watcher that kills it, by PID, once the test process is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const WATCHER = `
parent=$1; child=$2
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill -0 "$parent" 2>/dev/null || kill -9 "$child" 2>/dev/null
`;

const live = new Set<ChildProcess>();
let hooked = false;

export function track(child: ChildProcess): void {
  live.add(child);
  if (child.pid !== undefined) {
    const watcher = spawn('sh', ['-c', WATCHER, 'tether-watch', String(process.pid), String(child.pid)], {
      stdio: 'ignore',
    });
    watcher.on('error', () => undefined); // no sh: the exit hook still covers normal exits
    watcher.unref();
  }
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', killAll);
  }
}

function killAll(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
