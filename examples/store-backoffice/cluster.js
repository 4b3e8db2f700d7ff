/**
 * Starts and stops the example's Tether nodes (tether-node.js), each in its own process, so that
 * one can be killed for real (SIGKILL: no goodbye, its heartbeat just stops). A node's log lines
 * are kept, and printed only if the run fails.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE_SCRIPT = fileURLToPath(new URL('./tether-node.js', import.meta.url));

export async function startNode(settings, { startTimeoutMs = 30_000 } = {}) {
  const child = fork(NODE_SCRIPT, [settings.nodeId], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.once('message', () => child.send(settings)); // its first message asks for them
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${settings.nodeId} not ready in ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
    child.on('message', (message) => {
      if (message.url === undefined) return;
      clearTimeout(timer);
      resolve(message.url);
    });
    exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`${settings.nodeId} exited (${how}) before it was ready:\n${output}`));
    });
  });
  return {
    nodeId: settings.nodeId,
    url,
    pid: child.pid,
    output: () => output,
    /** SIGKILL: the node dies mid-flight, as with a power cut or the OOM killer. */
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
    /** A graceful stop (the node closes its sockets and its store). */
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.disconnect();
      return exited;
    },
  };
}
