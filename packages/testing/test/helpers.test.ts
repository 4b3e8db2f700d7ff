/** The test helpers themselves, against a real server: what every other test leans on. */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  isErrorReply,
  startServer,
  startServerProcess,
  waitFor,
  waitUntil,
  type ConnectError,
  type TestClient,
  type TestServer,
} from '../src/index.js';

const servers: TestServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(): Promise<TestServer> {
  const s = await startServer();
  servers.push(s);
  return s;
}

describe('startServer + connectClient', () => {
  it('starts on a free loopback port; a client gets its inbox messages in order', async () => {
    const s = await server();
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    const client = await connectClient(s.url, await s.token('alice'));
    clients.push(client);
    await s.server.publish({ channel: 'user:alice', type: 'a', data: 1 });
    await s.server.publish({ channel: 'user:alice', type: 'b', data: 2 });
    const got = await client.messages.waitForCount(2, { channel: 'user:alice' });
    expect(got).toEqual([
      { channel: 'user:alice', offset: 1, type: 'a', data: 1 },
      { channel: 'user:alice', offset: 2, type: 'b', data: 2 },
    ]);
    expect(client.messages.offsets('user:alice')).toEqual([1, 2]);
  });

  it('sub, pub and their error replies', async () => {
    const s = await server();
    const token = await s.token({ sub: 'bob', channels: ['room:*'], publish: ['room:*'] });
    const client = await connectClient(s.url, token);
    clients.push(client);
    const sub = await client.sub('room:1');
    expect(sub).toMatchObject({ channel: 'room:1', offset: 0 });
    const pub = await client.pub({ channel: 'room:1', type: 'chat', data: { text: 'hi' } });
    expect(pub).toMatchObject({ offset: 1 });
    await client.messages.waitFor((m) => m.channel === 'room:1' && m.offset === 1);
    const refused = await client.sub('secret:1');
    expect(isErrorReply(refused) && refused.error.code).toBe('forbidden');
  });

  it('rejects with the connect_error of a refused handshake', async () => {
    const s = await server();
    const err = await connectClient(s.url, 'not-a-jwt').then(
      () => undefined,
      (e: ConnectError) => e,
    );
    expect(err?.data).toMatchObject({ code: 'unauthorized' });
  });

  it('close() twice is fine', async () => {
    const s = await startServer();
    await s.close();
    await s.close();
  });
});

describe('waitFor', () => {
  it('resolves with the first matching event and rejects on timeout', async () => {
    const emitter = new EventEmitter();
    const pending = waitFor<number>(emitter, 'n', (n) => n > 1, 1000);
    emitter.emit('n', 1);
    emitter.emit('n', 2);
    expect(await pending).toBe(2);
    expect(emitter.listenerCount('n')).toBe(0);
    await expect(waitFor(emitter, 'never', undefined, 20)).rejects.toThrow(/no matching 'never' event within 20 ms/);
  });
});

describe('startServerProcess', () => {
  it('runs the built CLI on a free port and stops it with exit code 0, removing its temp dir', async () => {
    const p = await startServerProcess({ store: 'memory' });
    try {
      expect(p.port).toBeGreaterThan(0);
      expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
      const client = await connectClient(p.url, await p.token('dana'));
      clients.push(client);
    } finally {
      expect(await p.stop()).toBe(0);
    }
    expect(existsSync(p.dataDir)).toBe(false);
  });

  it('a server process does not outlive a test process killed with SIGKILL (no exit hooks run)', async () => {
    // A stand-in test process: starts a server process through the built helpers, reports its
    // PID, then is killed the way vitest ends a worker.
    const script = `
      import { startServerProcess } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const p = await startServerProcess({ store: 'memory' });
      console.log('server-pid ' + p.pid);
      process.kill(process.pid, 'SIGKILL');
    `;
    const runner = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    runner.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise((resolve) => runner.once('exit', resolve));
    const pid = Number(/server-pid (\d+)/.exec(output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitUntil(() => (alive() ? undefined : true), 5000, 'the orphaned server process is killed');
  });

  it('with dev secrets, reports the secrets the CLI created', async () => {
    const p = await startServerProcess({ store: 'memory', secrets: 'dev' });
    try {
      expect(p.stderr()).toContain('Development secrets');
      expect(p.stderr()).toContain(p.apiKey);
      const res = await fetch(`${p.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'room:1', type: 't', data: null }),
      });
      expect(res.status).toBe(200);
    } finally {
      await p.stop();
    }
  });
});
