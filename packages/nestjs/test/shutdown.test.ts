import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TetherClient, type StatusChange } from '@tether/client';
import { issueToken } from '@tether/server';
import { waitFor, waitUntil } from '@tether/testing';

// Runs the built packages (`npm run build`), like the CLI tests: a real process gets the signal.
const fixture = fileURLToPath(new URL('./fixtures/shutdown-app.mjs', import.meta.url));
const secret = randomBytes(32).toString('base64url');

describe.each(['express', 'fastify'])('SIGTERM with enableShutdownHooks (%s)', (platform) => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, 'SIGKILL');
  });

  it('closes Tether gracefully and the process exits by itself', async () => {
    const started = spawn(process.execPath, [fixture, platform, secret], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = started;
    let output = '';
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const port = await waitUntil(() => /listening (\d+)/.exec(output)?.[1], 20_000, 'the app listening');
    const client = new TetherClient({
      url: `http://127.0.0.1:${port}`,
      token: await issueToken({ secret, sub: 'erin' }),
      fallback: { enabled: false },
    });
    const changes: StatusChange[] = [];
    client.on('status', (change) => changes.push(change));
    await client.connect();
    const exited = waitFor<number | null>(started, 'exit', undefined, 20_000);
    started.kill('SIGTERM');
    // Nest re-raises the signal once its hooks ran: exit by SIGTERM, not a hang or a crash.
    await exited;
    expect(started.signalCode ?? started.exitCode).toBe('SIGTERM');
    await waitUntil(() => (changes.some((c) => c.to === 'reconnecting') ? true : undefined), 10_000, 'reconnecting');
    await client.close();
  });
});
