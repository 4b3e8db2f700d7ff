/**
 * The fault proxy against real servers: a TCP echo server (bytes, half-close, timing), a plain
 * HTTP server (per-request path blocking on keep-alive connections) and a Tether server with
 * socket.io-client (what the SDK tests will lean on).
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpRequestTracker } from '../src/fault-proxy-http.js';
import {
  connectClient,
  startFaultProxy,
  startServer,
  waitFor,
  waitUntil,
  type FaultProxy,
  type TestClient,
  type TestServer,
} from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP echo server that counts what it received and which sockets are open. */
interface EchoServer {
  port: number;
  received: () => number;
  open: Set<net.Socket>;
}

async function echoServer(): Promise<EchoServer> {
  const open = new Set<net.Socket>();
  let received = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address() as net.AddressInfo;
  return { port: address.port, received: () => received, open };
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A raw TCP client that gathers what it reads and how it ended. */
interface RawClient {
  socket: net.Socket;
  data: () => string;
  closed: Promise<{ error: string | undefined }>;
  ended: () => boolean;
}

async function rawClient(port: number): Promise<RawClient> {
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
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, data: () => text, closed, ended: () => ended };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the milliseconds until `expected` has been echoed in full. */
async function roundTrip(client: RawClient, payload: string): Promise<number> {
  const before = client.data().length;
  const started = performance.now();
  client.socket.write(payload);
  await waitUntil(() => (client.data().length >= before + payload.length ? true : undefined), 3000, 'echo');
  return performance.now() - started;
}

describe('fault proxy over a TCP echo server', () => {
  it('forwards both ways, counts bytes and connections, forwards a half-close', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    const client = await rawClient(proxy.port);
    await roundTrip(client, 'hello');
    expect(client.data()).toBe('hello');
    expect(proxy.connections).toBe(1);
    expect(proxy.stats()).toMatchObject({ accepted: 1, active: 1, bytesUp: 5, bytesDown: 5 });
    client.socket.end('bye');
    expect(await client.closed).toEqual({ error: undefined });
    expect(client.data()).toBe('hellobye');
    expect(client.ended()).toBe(true);
    await proxy.waitForConnections(0);
    await waitUntil(() => (echo.open.size === 0 ? true : undefined), 2000, 'server side closed');
  });

  it('cut() resets both sides of every connection at once; new connections still pass', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const a = await rawClient(proxy.port);
    const b = await rawClient(proxy.port);
    await roundTrip(a, 'a');
    await roundTrip(b, 'b');
    expect(echo.open.size).toBe(2);
    expect(proxy.cut()).toBe(2);
    expect(await a.closed).toEqual({ error: 'ECONNRESET' });
    expect(await b.closed).toEqual({ error: 'ECONNRESET' });
    await waitUntil(() => (echo.open.size === 0 ? true : undefined), 2000, 'server sides reset');
    await proxy.waitForConnections(0);
    const c = await rawClient(proxy.port);
    await roundTrip(c, 'again');
    expect(proxy.stats().cut).toBe(2);
  });

  it('stall() moves no byte either way and closes nothing; resume() delivers what waited', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawClient(proxy.port);
    await roundTrip(client, 'before');
    proxy.stall();
    const receivedBefore = echo.received();
    client.socket.write('during');
    await sleep(300);
    expect(echo.received()).toBe(receivedBefore);
    expect(client.data()).toBe('before');
    // The server closing its side is hidden too: the client's TCP learns nothing.
    const [serverSide] = [...echo.open];
    serverSide?.end();
    await sleep(200);
    expect(client.socket.destroyed).toBe(false);
    expect(client.ended()).toBe(false);
    expect(proxy.connections).toBe(1);
    proxy.resume();
    await waitUntil(() => (client.ended() ? true : undefined), 2000, 'FIN after resume');
    expect(echo.received()).toBe(receivedBefore + 'during'.length);
  });

  it('a connection opened during a stall is not stalled', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const stalled = await rawClient(proxy.port);
    proxy.stall();
    const fresh = await rawClient(proxy.port);
    await roundTrip(fresh, 'fresh');
    stalled.socket.write('x');
    await sleep(100);
    expect(stalled.data()).toBe('');
    proxy.resume();
    await waitUntil(() => (stalled.data() === 'x' ? true : undefined), 2000, 'stalled echo after resume');
  });

  it("block({mode:'reset'}) refuses new connections at once, keeps live ones; unblock() lets them in", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const live = await rawClient(proxy.port);
    proxy.block({ mode: 'reset' });
    const refused = net.connect({ host: '127.0.0.1', port: proxy.port });
    const outcome = await new Promise<string>((resolve) => {
      refused.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      refused.on('close', () => resolve('closed'));
    });
    expect(outcome).toBe('ECONNRESET');
    await roundTrip(live, 'still');
    expect(echo.open.size).toBe(1);
    expect(proxy.stats().refused).toBe(1);
    proxy.unblock();
    await roundTrip(await rawClient(proxy.port), 'in');
  });

  it("block({mode:'blackhole'}) accepts and then says nothing; the server never hears; unblock() resets the held", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    proxy.block({ mode: 'blackhole' });
    const held = await rawClient(proxy.port);
    held.socket.write('anyone?');
    await sleep(200);
    expect(held.data()).toBe('');
    expect(held.socket.destroyed).toBe(false);
    expect(echo.open.size).toBe(0);
    expect(proxy.stats()).toMatchObject({ held: 1, active: 0 });
    proxy.unblock();
    expect(await held.closed).toEqual({ error: 'ECONNRESET' });
    expect(proxy.stats().held).toBe(0);
  });

  it('delay(ms) adds latency per chunk in each direction and keeps byte order', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawClient(proxy.port);
    await roundTrip(client, 'x');
    proxy.delay(100);
    const slow = await roundTrip(client, 'y');
    // Up and down: two delays of 100 ms (timers may fire a little early). No bound on the difference
    // from an undelayed round trip: on a loaded CI box that one alone has taken 90 ms.
    expect(slow).toBeGreaterThanOrEqual(190);
    let sent = '';
    for (let i = 0; i < 50; i++) {
      const piece = `${i},`;
      sent += piece;
      client.socket.write(piece);
      if (i === 25) proxy.delay(10); // a shorter delay later must not overtake earlier chunks
    }
    await waitUntil(() => (client.data().length >= 2 + sent.length ? true : undefined), 3000, 'ordered echo');
    expect(client.data()).toBe(`xy${sent}`);
    expect(() => proxy.delay(-1)).toThrow(TypeError);
  });

  it('close() resets every socket it holds and stops listening', async () => {
    const echo = await echoServer();
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
    const client = await rawClient(proxy.port);
    await roundTrip(client, 'x');
    proxy.block({ mode: 'blackhole' });
    const held = await rawClient(proxy.port);
    await proxy.close();
    await proxy.close();
    expect((await client.closed).error).toBe('ECONNRESET');
    expect((await held.closed).error).toBe('ECONNRESET');
    await waitUntil(() => (echo.open.size === 0 ? true : undefined), 2000, 'server side closed');
    await expect(rawClient(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('fault proxy path blocking over HTTP', () => {
  /** An HTTP server that answers every request with its path (keep-alive on). */
  async function pathServer(): Promise<number> {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(`path=${req.url}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return (server.address() as net.AddressInfo).port;
  }

  const request = (path: string, body = ''): string =>
    body
      ? `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      : `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

  it('judges each request of a keep-alive connection: /v1 passes, /socket.io/ is reset', async () => {
    const proxy = await proxyTo(await pathServer());
    proxy.blockPath('/socket.io/');
    const client = await rawClient(proxy.port);
    // A body that looks like a request head must not be judged as one.
    client.socket.write(request('/v1/poll', 'GET /socket.io/ HTTP/1.1\r\n\r\n'));
    await waitUntil(() => (client.data().includes('path=/v1/poll') ? true : undefined), 2000, 'poll answered');
    // Split mid request line: the head is held until it can be judged.
    client.socket.write('GET /sock');
    await sleep(50);
    client.socket.write('et.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await client.closed).error).toBe('ECONNRESET');
    expect(client.data()).not.toContain('path=/socket.io/');
    expect(proxy.stats().pathBlocked).toBe(1);
    proxy.unblockPath('/socket.io/');
    const again = await rawClient(proxy.port);
    again.socket.write(request('/socket.io/?EIO=4'));
    await waitUntil(() => (again.data().includes('path=/socket.io/?EIO=4') ? true : undefined), 2000, 'unblocked');
  });

  it("blockPath(…, {mode:'blackhole'}) leaves the request hanging; unblockPath() resets it", async () => {
    const proxy = await proxyTo(await pathServer());
    proxy.blockPath('/socket.io/', { mode: 'blackhole' });
    const client = await rawClient(proxy.port);
    client.socket.write(request('/socket.io/?EIO=4'));
    await sleep(200);
    expect(client.data()).toBe('');
    expect(proxy.stats()).toMatchObject({ held: 1, pathBlocked: 1 });
    proxy.unblockPath();
    expect((await client.closed).error).toBe('ECONNRESET');
  });

  it('HttpRequestTracker follows requests fed one byte at a time and gives up on non-HTTP', () => {
    const tracker = new HttpRequestTracker();
    const text = `${request('/v1/a', 'xyz')}${request('/v1/b')}GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /frames`;
    const paths: string[] = [];
    for (const byte of Buffer.from(text)) paths.push(...tracker.push(Buffer.from([byte])));
    expect(paths).toEqual(['/v1/a', '/v1/b', '/ws']);
    expect(tracker.opaque).toBe(true);
    const other = new HttpRequestTracker();
    expect(other.push(Buffer.from('hello GET / HTTP/1.1\r\n\r\n'))).toEqual([]);
    expect(other.opaque).toBe(true);
  });
});

describe('fault proxy in front of a Tether server with socket.io-client', () => {
  async function setup(): Promise<{ server: TestServer; proxy: FaultProxy; client: TestClient }> {
    const server = await startServer();
    cleanups.push(() => server.close());
    const proxy = await proxyTo(server.port);
    const client = await connectClient(proxy.url, await server.token('alice'));
    cleanups.push(() => client.close());
    return { server, proxy, client };
  }

  it('cut(): the client sees a disconnect', async () => {
    const { proxy, client } = await setup();
    const disconnected = waitFor<string>(client.socket, 'disconnect');
    proxy.cut();
    expect(await disconnected).toMatch(/transport (close|error)/);
  });

  it('stall(): no message flows and the socket stays connected; resume() delivers it', async () => {
    const { server, proxy, client } = await setup();
    await server.server.publish({ channel: 'user:alice', type: 't', data: 1 });
    await client.messages.waitForCount(1);
    const before = proxy.stats();
    proxy.stall();
    await server.server.publish({ channel: 'user:alice', type: 't', data: 2 });
    await sleep(300);
    expect(client.messages.offsets('user:alice')).toEqual([1]);
    expect(client.socket.connected).toBe(true);
    expect(proxy.stats()).toMatchObject({ bytesUp: before.bytesUp, bytesDown: before.bytesDown, active: 1 });
    proxy.resume();
    await client.messages.waitForCount(2);
    expect(client.messages.offsets('user:alice')).toEqual([1, 2]);
  });

  it('delay(ms) shows in a publish round trip', async () => {
    const { proxy, client } = await setup();
    await client.pub({ channel: 'user:alice', type: 't', data: 0 });
    proxy.delay(80);
    const started = performance.now();
    await client.pub({ channel: 'user:alice', type: 't', data: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("blockPath('/socket.io/'): Socket.IO cannot connect while the HTTP API still answers", async () => {
    const { server, proxy, client } = await setup();
    const disconnected = waitFor<string>(client.socket, 'disconnect');
    proxy.blockPath('/socket.io/');
    await disconnected;
    const refused = await connectClient(proxy.url, await server.token('bob'), { timeoutMs: 2000 }).then(
      (c) => {
        c.close();
        return undefined;
      },
      (err: Error) => err,
    );
    expect(refused).toBeInstanceOf(Error);
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
    proxy.unblockPath('/socket.io/');
    const back = await connectClient(proxy.url, await server.token('bob'));
    back.close();
  });
});
