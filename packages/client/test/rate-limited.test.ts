/**
 * The SDK obeys `rate_limited`: a refused publish is resent (same id) no sooner than
 * `retryAfterMs`, a refused connection attempt is retried no sooner either, and against the real
 * server a client over its limit waits instead of hammering. The server's windows are a minute
 * long, so exact waits are checked against a tiny plain Socket.IO server that refuses with a short
 * `retryAfterMs`; the real server shows the "no hammering" side.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Server, type Socket } from 'socket.io';
import { issueToken } from '@tether/server';
import { waitUntil } from '@tether/testing';
import { useFaultBed, fast, sleep } from './helpers.js';

const RETRY_AFTER_MS = 1500;
const faults = useFaultBed();
const { bed, clients } = faults;
let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

const refusal = { code: 'rate_limited', message: 'slow down', retryAfterMs: RETRY_AFTER_MS };

/** A plain Socket.IO server: refuses the first `connects` handshakes and `pubs` publishes with `rate_limited`. */
async function limitingServer(refuse: { connects: number; pubs: number }) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket'] });
  const connectAttempts: number[] = [];
  const pubs: { at: number; id: string }[] = [];
  io.use((_socket, next) => {
    connectAttempts.push(Date.now());
    if (connectAttempts.length > refuse.connects) return next();
    next(Object.assign(new Error(refusal.message), { data: refusal }));
  });
  let offset = 0;
  io.on('connection', (socket: Socket) => {
    socket.on('pub', (frame: { id: string }, reply: (r: unknown) => void) => {
      pubs.push({ at: Date.now(), id: frame.id });
      if (pubs.length <= refuse.pubs) return reply({ error: refusal });
      reply({ offset: ++offset, epoch: 'e1' });
    });
    socket.on('probe', (frame: { ts: number }, reply: (r: unknown) => void) =>
      reply({ ts: frame.ts, serverTs: Date.now() }),
    );
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  closeServer = () => new Promise<void>((resolve) => void io.close(() => resolve()));
  return { url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, connectAttempts, pubs };
}

const token = () => issueToken({ sub: 'u1', secret: 'unused-by-the-plain-server', publish: ['room:*'] });

describe('rate_limited', () => {
  it('a refused publish is resent with the same id no sooner than retryAfterMs', async () => {
    const server = await limitingServer({ connects: 0, pubs: 1 });
    const client = clients.make({ url: server.url, token: await token(), ...fast });
    await client.connect();
    const result = await client.publish('room:1', 'chat', { n: 1 });
    expect(result.offset).toBe(1);
    expect(server.pubs).toHaveLength(2);
    expect(server.pubs[1]!.id).toBe(server.pubs[0]!.id);
    // The queue's own backoff would have resent within 500 ms.
    expect(server.pubs[1]!.at - server.pubs[0]!.at).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 20);
  });

  it('a refused connection attempt is retried no sooner than retryAfterMs', async () => {
    const server = await limitingServer({ connects: 2, pubs: 0 });
    const client = clients.make({ url: server.url, token: await token(), ...fast });
    await client.connect();
    expect(client.status).toBe('connected');
    expect(client.metrics()).toMatchObject({ failures: 2, lastFailureReason: 'rate_limited' });
    const [first, second, third] = server.connectAttempts;
    // `fast` reconnects within 50–200 ms; the server asked for 1500.
    expect(second! - first!).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 20);
    expect(third! - second!).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 20);
  });

  it('against the real server: over the limit the client waits instead of hammering', async () => {
    const server = await bed.start({ limits: { eventsPerMinutePerConnection: 4, eventsPerMinutePerUser: 1000 } });
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', publish: ['room:*'] }),
      ...fast,
    });
    await client.connect();
    // The SDK's own `sub` of the inbox and its presence report (a client event like any other) may
    // take two of the four.
    const results = [1, 2, 3, 4, 5].map((n) => client.publish('room:1', 'chat', { n }));
    await waitUntil(() => (server.server.stats().rateLimited.events === 1 ? true : undefined), 5000, 'refused');
    const published = server.server.stats().published;
    expect(published).toBeGreaterThanOrEqual(2);
    await sleep(1500);
    // One refusal, then silence until the window ends (up to a minute): no resend loop.
    expect(server.server.stats().rateLimited.events).toBe(1);
    expect(server.server.stats().published).toBe(published);
    expect(client.metrics().queued).toBe(5 - published);
    const done = await Promise.all(results.slice(0, published));
    expect(done.map((r) => r.offset)).toEqual(Array.from({ length: published }, (_, k) => k + 1));
  });

  it('in HTTP fallback: a poll over the per-user budget waits out retryAfterMs, no polling loop', async () => {
    const server = await bed.start({ limits: { httpRequestsPerMinutePerUser: 2 } });
    const proxy = await faults.proxyTo(server);
    proxy.blockPath('/socket.io/'); // no socket: the SDK polls
    const client = clients.make({
      url: proxy.url,
      token: await server.token({ sub: 'poller', channels: ['room:*'] }),
      ...fast,
      fallback: { enabled: true, afterAttempts: 1, afterMs: 100, pollWaitSeconds: 0, pollIntervalMs: 50 },
    });
    client.subscribe('room:1', () => undefined);
    void client.connect();
    await waitUntil(() => (server.server.stats().rateLimited.httpRequests === 1 ? true : undefined), 8000, 'refused');
    await sleep(2500);
    // The failure backoff alone would poll again within 1 s (full jitter); the server asked for the
    // rest of its minute.
    expect(server.server.stats().rateLimited.httpRequests).toBe(1);
  });
});
