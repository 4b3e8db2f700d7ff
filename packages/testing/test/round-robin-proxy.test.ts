/**
 * The round-robin proxy against real TCP servers that say who they are: turns, skipping a dead
 * target, refusing when none is left, half-close and reset forwarding, cut and close.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRoundRobinProxy, waitUntil, type RoundRobinProxy } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server that greets with its name, then echoes; `stop()` closes it and its sockets. */
interface NamedServer {
  name: string;
  port: number;
  open: Set<net.Socket>;
  stop(): Promise<void>;
}

async function namedServer(name: string): Promise<NamedServer> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.write(`${name}:`);
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    }));
  cleanups.push(stop);
  return { name, port, open, stop };
}

async function proxyTo(targets: number[], connectTimeoutMs?: number): Promise<RoundRobinProxy> {
  const proxy = await startRoundRobinProxy({
    targets,
    ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

interface RawClient {
  socket: net.Socket;
  data: () => string;
  closed: Promise<{ error: string | undefined }>;
  ended: () => boolean;
}

function rawClient(port: number): RawClient {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  let text = '';
  let error: string | undefined;
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('end', () => (ended = true));
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  const closed = new Promise<{ error: string | undefined }>((resolve) =>
    socket.once('close', () => resolve({ error })),
  );
  cleanups.push(() => {
    socket.destroy();
  });
  return { socket, data: () => text, closed, ended: () => ended };
}

/** Connects and resolves with the name of the server that answered. */
async function whoAnswers(port: number): Promise<{ client: RawClient; name: string }> {
  const client = rawClient(port);
  const name = await waitUntil(() => /^(\w+):/.exec(client.data())?.[1], 3000, 'greeting');
  return { client, name };
}

/**
 * A loopback port that never completes a TCP handshake, like a host that went away: a listener
 * that never accepts, its accept queue already full, so the kernel drops further SYNs. Node always
 * accepts, so a small python3 process holds it; killed by its PID.
 */
const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

async function blackHole(): Promise<number> {
  const script = [
    'import socket, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]; fill = []',
    'for i in range(8):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    fill.append(c)',
    'print(port, flush=True)',
    'time.sleep(60)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return waitUntil(() => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined), 5000, 'black hole port');
}

describe('round-robin proxy', () => {
  it('sends each new connection to the next target in turn and forwards bytes both ways', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map(namedServer));
    const proxy = await proxyTo(servers.map((s) => s.port));
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    const names: string[] = [];
    const clients: RawClient[] = [];
    for (let i = 0; i < 7; i++) {
      const { client, name } = await whoAnswers(proxy.port);
      names.push(name);
      clients.push(client);
    }
    expect(names).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
    expect(proxy.stats()).toMatchObject({ accepted: 7, active: 7, perTarget: [3, 2, 2], skipped: 0, refused: 0 });
    expect(proxy.activePerTarget()).toEqual([3, 2, 2]);
    const first = clients[0]!;
    first.socket.write('ping');
    await waitUntil(() => (first.data() === 'a:ping' ? true : undefined), 2000, 'echo');
  });

  it('skips a target that refuses (a dead node) and resets the client when none accepts', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map(namedServer));
    const proxy = await proxyTo(servers.map((s) => s.port));
    await servers[1]!.stop();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await whoAnswers(proxy.port)).name);
    // Turns go a, b→c (b refused), c, a: the dead target's turn falls to the next live one.
    expect(names).toEqual(['a', 'c', 'c', 'a']);
    expect(proxy.stats().skipped).toBe(1);
    await servers[0]!.stop();
    await servers[2]!.stop();
    const orphan = rawClient(proxy.port);
    const { error } = await orphan.closed;
    expect(error === 'ECONNRESET' || orphan.ended()).toBe(true);
    expect(proxy.stats().refused).toBe(1);
  });

  it.skipIf(!hasPython)('skips a target that does not answer within connectTimeoutMs', async () => {
    const live = await namedServer('live');
    const hole = await blackHole();
    const proxy = await proxyTo([hole, live.port], 200);
    const started = Date.now();
    const { name } = await whoAnswers(proxy.port);
    expect(name).toBe('live');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(proxy.stats().skipped).toBe(1);
  });

  it('forwards a half-close, and a target that dies resets its clients', async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    const proxy = await proxyTo(servers.map((s) => s.port));
    const { client: onA } = await whoAnswers(proxy.port);
    const { client: onB } = await whoAnswers(proxy.port);
    onA.socket.end('bye');
    expect(await onA.closed).toEqual({ error: undefined });
    expect(onA.data()).toBe('a:bye');
    expect(onA.ended()).toBe(true);
    // b's sockets destroyed with data unread: the kernel resets, and the proxy passes it on.
    for (const socket of servers[1]!.open) socket.resetAndDestroy();
    const { error } = await onB.closed;
    expect(error === 'ECONNRESET' || onB.ended()).toBe(true);
    await proxy.waitForConnections(0);
  });

  it('cut() resets every connection; cutTarget() only one target; close() leaves none', async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    const proxy = await proxyTo(servers.map((s) => s.port));
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push((await whoAnswers(proxy.port)).client);
    expect(proxy.cutTarget(1)).toBe(2);
    expect(await clients[1]!.closed).toEqual({ error: 'ECONNRESET' });
    expect(proxy.connections).toBe(2);
    expect(proxy.cut()).toBe(2);
    expect(await clients[0]!.closed).toEqual({ error: 'ECONNRESET' });
    const late = (await whoAnswers(proxy.port)).client;
    await proxy.close();
    expect(await late.closed).toEqual({ error: 'ECONNRESET' });
    await waitUntil(() => (servers.every((s) => s.open.size === 0) ? true : undefined), 2000, 'server sides gone');
    const after = rawClient(proxy.port);
    expect((await after.closed).error).toBe('ECONNREFUSED');
  });
});
