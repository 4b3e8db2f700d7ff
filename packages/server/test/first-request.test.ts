/**
 * A connection's first HTTP request is let go once the socket is connected (limits/first-request.ts,
 * ~1.1 KB per idle connection): Socket.IO middlewares still see it, `socket.handshake` keeps its
 * headers, the request itself is collected; and a later namespace connect over the same transport
 * is still limited by the right client IP — the peer's, or a trusted proxy's `X-Forwarded-For`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { connectClient, waitFor, waitUntil, type TestServer } from '@tether/testing';
import { closedAfterEach, upgradeAttempt } from './limits-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { cleanups, server } = closedAfterEach();

interface RawClient {
  /** Every text frame received, in order. */
  frames: string[];
  send(frame: string): void;
  /** The first frame from index `from` on that starts with `prefix`. */
  next(prefix: string, from: number, what: string): Promise<string>;
}

/** A raw Engine.IO WebSocket (answering pings) with extra request headers, open. */
async function openRaw(srv: TestServer, headers: Record<string, string> = {}): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`, { headers });
  cleanups.push(() => ws.close());
  const frames: string[] = [];
  ws.on('error', () => undefined);
  ws.on('message', (data: RawData) => {
    const text = (data as Buffer).toString();
    frames.push(text);
    if (text === '2') ws.send('3');
  });
  const raw: RawClient = {
    frames,
    send: (frame) => ws.send(frame),
    next: (prefix, from, what) => waitUntil(() => frames.slice(from).find((f) => f.startsWith(prefix)), 3000, what),
  };
  await raw.next('0{', 0, 'engine open');
  return raw;
}

/** Connects the raw client to the main namespace, then leaves it: its transport stays open. */
async function connectAndLeave(srv: TestServer, raw: RawClient, token: string): Promise<void> {
  const from = raw.frames.length;
  const sockets = srv.server.io.sockets.sockets.size;
  raw.send(`40${JSON.stringify({ token })}`);
  await raw.next('40{', from, 'namespace connect');
  raw.send('41');
  await waitUntil(() => (srv.server.io.sockets.sockets.size === sockets ? true : undefined), 3000, 'left');
}

/** The `connect_error` data of the next refused namespace connect over `raw`. */
async function refusedConnect(raw: RawClient, token: string): Promise<{ code: string; message: string }> {
  const from = raw.frames.length;
  raw.send(`40${JSON.stringify({ token })}`);
  const frame = await raw.next('44', from, 'connect_error');
  return (JSON.parse(frame.slice(2)) as { data: { code: string; message: string } }).data;
}

describe('the first request of a connection', () => {
  it('is seen by Socket.IO middlewares, then let go once connected; the handshake keeps its headers', async () => {
    const srv = await server();
    const requests: WeakRef<IncomingMessage>[] = [];
    const seen: unknown[] = [];
    srv.server.io.use((socket, next) => {
      requests.push(new WeakRef(socket.request));
      seen.push(socket.request.headers['x-app']);
      next();
    });
    const raw = await openRaw(srv, { 'X-App': 'kiosk-7' });
    raw.send(`40${JSON.stringify({ token: await srv.token({ sub: 'u1', channels: ['room:*'] }) })}`);
    await raw.next('40{', 0, 'namespace connect');

    expect(seen).toEqual(['kiosk-7']);
    const [socket] = srv.server.io.sockets.sockets.values();
    expect(socket!.request).toBeNull();
    expect(socket!.handshake.headers['x-app']).toBe('kiosk-7');
    // Nothing else holds it (Engine.IO's upgrade response did, through the TCP socket): collected.
    await waitUntil(
      async () => {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        return requests[0]!.deref() === undefined ? true : undefined;
      },
      3000,
      'the request collected',
    );
    // The connection serves on.
    const from = raw.frames.length;
    raw.send('421["sub",{"channel":"room:1"}]');
    await raw.next('431', from, 'subscribed');
    const c = await connectClient(srv.url, await srv.token({ sub: 'u2', publish: ['room:*'] }));
    cleanups.push(() => c.close());
    await c.pub({ channel: 'room:1', type: 't', data: 1 });
    expect(await raw.next('42["msg"', from, 'the message')).toContain('"room:1"');
  });

  it('over polling, then upgraded to WebSocket: the connection serves, and neither request is held', async () => {
    const srv = await server({ allowPollingTransport: true });
    const requests: WeakRef<IncomingMessage>[] = [];
    srv.server.io.use((socket, next) => {
      requests.push(new WeakRef(socket.request)); // the polling handshake
      next();
    });
    srv.server.httpServer.on('upgrade', (req: IncomingMessage) => requests.push(new WeakRef(req)));
    const token = await srv.token({ sub: 'u1', channels: ['room:*'], publish: ['room:*'] });
    const c = await connectClient(srv.url, token, { transports: ['polling', 'websocket'] });
    cleanups.push(() => c.close());
    await waitUntil(() => (c.socket.io.engine.transport.name === 'websocket' ? true : undefined), 3000, 'upgraded');
    expect(requests).toHaveLength(2);

    await c.sub('room:p');
    await c.pub({ channel: 'room:p', type: 't', data: 'over the upgraded transport' });
    expect((await c.messages.waitFor((m) => m.channel === 'room:p')).data).toBe('over the upgraded transport');
    await waitUntil(
      async () => {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        return requests.every((request) => request.deref() === undefined) ? true : undefined;
      },
      3000,
      'both requests collected',
    );
  });

  it('a second namespace connect over the transport after it was let go is limited by the peer IP', async () => {
    const srv = await server({ limits: { connectionAttemptsPerSecondPerIp: 1, connectionAttemptBurstPerIp: 1 } });
    const token = await srv.token({ sub: 'u1', channels: ['room:*'] });
    const raw = await openRaw(srv);
    await connectAndLeave(srv, raw, token);
    const refusal = await refusedConnect(raw, token);
    expect(refusal.code).toBe('rate_limited');
    expect(refusal.message).toBe('too many connection attempts from 127.0.0.1');
  });

  it('behind a trusted proxy, such a connect is limited by the forwarded IP, not the proxy', async () => {
    const srv = await server({
      trustedProxies: ['127.0.0.1', '::1'],
      limits: { connectionAttemptsPerSecondPerIp: 1, connectionAttemptBurstPerIp: 1 },
    });
    const token = await srv.token({ sub: 'u1', channels: ['room:*'] });
    const raw = await openRaw(srv, { 'X-Forwarded-For': '203.0.113.7' });
    await connectAndLeave(srv, raw, token);
    const refusal = await refusedConnect(raw, token);
    expect(refusal.message).toBe('too many connection attempts from 203.0.113.7');
    // Another client behind the same proxy has its own budget.
    const other = await openRaw(srv, { 'X-Forwarded-For': '203.0.113.8' });
    other.send(`40${JSON.stringify({ token })}`);
    await other.next('40{', 0, 'the other client connects');
  });

  it('a cut user connecting again over a transport whose request was let go burns the forwarded IP’s attempts', async () => {
    const srv = await server({
      trustedProxies: ['127.0.0.1', '::1'],
      limits: {
        eventsPerMinutePerConnection: 1,
        maxRefusalsPerConnection: 1,
        connectionAttemptsPerSecondPerIp: 10,
        connectionAttemptBurstPerIp: 10,
      },
    });
    const token = await srv.token({ sub: 'hammer', publish: ['room:*'] });
    const raw = await openRaw(srv, { 'X-Forwarded-For': '203.0.113.7' });
    await connectAndLeave(srv, raw, token);

    // The same user floods on another connection (from the proxy's own address) and is cut.
    const hammer = await connectClient(srv.url, token);
    cleanups.push(() => hammer.close());
    const disconnected = waitFor<string>(hammer.socket, 'disconnect');
    for (let i = 0; i < 3; i++)
      hammer.socket.emit('pub', { channel: 'room:h', type: 't', data: i, id: `h${i}` }, () => {});
    await disconnected;

    expect((await refusedConnect(raw, token)).code).toBe('rate_limited');
    // 203.0.113.7: 1 for its upgrade, 1 for the second connect, 10 for the refusal: over its 10.
    const forwarded = await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.7' });
    cleanups.push(() => forwarded.close());
    expect(forwarded.status).toBe(429);
    const other = await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.8' });
    cleanups.push(() => other.close());
    expect(other.status).toBe(101);
  });
});
