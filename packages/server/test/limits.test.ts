/**
 * Rate limits and connection caps (issue 7, points 5 and 7): the polling transport is off by
 * default; connection attempts per IP are refused with 429 before Engine.IO allocates a session;
 * concurrent connections are capped per IP and per node; `X-Forwarded-For` counts only from a
 * trusted proxy; a flooding socket gets `rate_limited` while a bystander is served; HTTP publishes
 * per API key get 429 + `Retry-After`; with the Redis store the per-user limit holds across nodes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTetherServer, defaults } from '@tether/server';
import {
  connectClient,
  isErrorReply,
  startRedis,
  waitFor,
  waitUntil,
  type ConnectError,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import { TrustedProxies } from '../src/limits/client-ip.js';
import { limitsFromEnv } from '../src/cli/limits-env.js';
import { RateLimitFactory } from '../src/limits/rate-limit.js';
import { redisStoreClientOptions } from '../src/store/redis-connection.js';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { closedAfterEach, errorOf, pollingHandshake, upgradeAttempt, type Attempt } from './limits-helpers.js';

/** A refused namespace connect's `44` payload. */
interface ConnectData {
  data: { code: string; retryAfterMs?: number };
}

const { cleanups, server } = closedAfterEach();

async function client(srv: TestServer, sub = 'u1'): Promise<TestClient> {
  const token = await srv.token({ sub, channels: ['room:*'], publish: ['room:*'] });
  const c = await connectClient(srv.url, token);
  cleanups.push(() => c.close());
  return c;
}

function keep(attempt: Attempt): Attempt {
  cleanups.push(() => attempt.close());
  return attempt;
}

/** A raw WebSocket on Engine.IO's path, open (its `0{…}` seen), and every frame it got (closed after the test). */
async function openRawSocket(srv: TestServer): Promise<{ ws: WebSocket; frames: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
  cleanups.push(() => ws.close());
  const frames: string[] = [];
  ws.on('message', (data: Buffer) => frames.push(data.toString()));
  await waitUntil(() => (frames.some((f) => f.startsWith('0{')) ? true : undefined), 2000, 'engine open');
  return { ws, frames };
}

/** The payloads of the `connect_error` (`44`) frames among `frames`, in order. */
function connectErrors(frames: readonly string[]): ConnectData[] {
  return frames.filter((f) => f.startsWith('44')).map((f) => JSON.parse(f.slice(2)) as ConnectData);
}

async function connectRefusal(srv: TestServer, token: string): Promise<ConnectError> {
  return connectClient(srv.url, token).then(
    (c) => {
      c.close();
      throw new Error('connected although it should have been refused');
    },
    (err: ConnectError) => err,
  );
}

describe('transports', () => {
  it('refuses Engine.IO polling handshakes by default and allows them when the operator turns them on', async () => {
    const off = await server();
    expect((await pollingHandshake(off.url)).status).toBe(400);
    expect(off.server.io.engine.clientsCount).toBe(0);

    const on = await server({ allowPollingTransport: true });
    const answer = await pollingHandshake(on.url);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^0\{"sid"/);
  });
});

describe('connection attempts per IP, before auth', () => {
  it('answers attempts over the rate with 429, Retry-After and rate_limited before Engine.IO allocates anything', async () => {
    const srv = await server({ limits: { connectionAttemptsPerSecondPerIp: 5, connectionAttemptBurstPerIp: 5 } });
    let sessions = 0;
    srv.server.io.engine.on('connection', () => sessions++);
    const attempts = await Promise.all(Array.from({ length: 12 }, () => upgradeAttempt(srv.port).then(keep)));

    const accepted = attempts.filter((a) => a.status === 101);
    const refused = attempts.filter((a) => a.status === 429);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const error = errorOf(r.body);
      expect(error.code).toBe('rate_limited');
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1000);
    }
    await waitUntil(() => (sessions === 5 ? true : undefined), 2000, 'five sessions');
    expect(srv.server.io.engine.clientsCount).toBe(5);
    expect(srv.server.stats().rateLimited.connectionAttempts).toBe(7);
  });

  it('lets the burst through above the rate, then refuses', async () => {
    const srv = await server({ limits: { connectionAttemptsPerSecondPerIp: 3, connectionAttemptBurstPerIp: 6 } });
    const attempts = await Promise.all(Array.from({ length: 9 }, () => upgradeAttempt(srv.port).then(keep)));
    expect(attempts.filter((a) => a.status === 101)).toHaveLength(6);
    expect(attempts.filter((a) => a.status === 429)).toHaveLength(3);
  });

  it('refuses polling handshakes over the rate in the same way', async () => {
    const srv = await server({
      allowPollingTransport: true,
      limits: { connectionAttemptsPerSecondPerIp: 2, connectionAttemptBurstPerIp: 2 },
    });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await pollingHandshake(srv.url));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429]);
    expect(errorOf(answers[2]!.body).code).toBe('rate_limited');
  });

  it('counts a second namespace connect over one transport: connect_error with data {code: rate_limited, retryAfterMs}', async () => {
    const srv = await server({ limits: { connectionAttemptsPerSecondPerIp: 1, connectionAttemptBurstPerIp: 1 } });
    const { ws, frames } = await openRawSocket(srv);

    ws.send('40{"token":"not-a-token"}');
    await waitUntil(() => (connectErrors(frames).length === 1 ? true : undefined), 2000, 'first refusal');
    const first = connectErrors(frames)[0]!;
    expect(first.data.code).toBe('unauthorized'); // the first connect was paid for by the handshake

    ws.send('40{"token":"not-a-token"}');
    await waitUntil(() => (connectErrors(frames).length === 2 ? true : undefined), 2000, 'second');
    const second = connectErrors(frames)[1]!;
    expect(second.data.code).toBe('rate_limited');
    expect(second.data.retryAfterMs).toBeGreaterThan(0);
    expect(srv.server.stats().authFailures).toBe(1); // the refused connect never reached the token check
  });

  it('with connection attempts unlimited, a second namespace connect over one transport reaches the token check', async () => {
    const srv = await server(); // test servers run with every limit off
    const { ws, frames } = await openRawSocket(srv);
    ws.send('40{"token":"not-a-token"}');
    ws.send('40{"token":"not-a-token"}');
    await waitUntil(() => (connectErrors(frames).length === 2 ? true : undefined), 2000, 'refusals');
    const codes = connectErrors(frames).map((c) => c.data.code);
    expect(codes).toEqual(['unauthorized', 'unauthorized']);
    expect(srv.server.stats().authFailures).toBe(2);
  });

  it('a peer that resets its socket right after the upgrade leaves the server serving, with caps or without', async () => {
    for (const limits of [{}, { maxConnectionsPerIp: 1 }]) {
      const srv = await server({ limits });
      const raw = net.connect(srv.port, '127.0.0.1');
      raw.on('error', () => undefined);
      raw.write(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n' +
          `Upgrade: websocket\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const answer = await new Promise<string>((resolve) =>
        raw.once('data', (data: Buffer) => resolve(data.toString())),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 101/);
      raw.resetAndDestroy();
      // With the cap of 1, a new upgrade passes once the reset connection's place is free again.
      await waitUntil(
        async () => ((await upgradeAttempt(srv.port).then(keep)).status === 101 ? true : undefined),
        5000,
        'served after the reset',
      );
      if (limits.maxConnectionsPerIp === undefined) expect((await client(srv)).socket.connected).toBe(true);
    }
  });

  it('dryRun counts what it would refuse and refuses nothing', async () => {
    const srv = await server({
      limits: { connectionAttemptsPerSecondPerIp: 2, connectionAttemptBurstPerIp: 2, dryRun: true },
    });
    const attempts = await Promise.all(Array.from({ length: 5 }, () => upgradeAttempt(srv.port).then(keep)));
    expect(attempts.every((a) => a.status === 101)).toBe(true);
    expect(srv.server.stats().rateLimited.connectionAttempts).toBe(3);
  });
});

describe('concurrent connection caps', () => {
  it('caps open connections per IP; a closed one frees its place', async () => {
    const srv = await server({ limits: { maxConnectionsPerIp: 3 } });
    const token = await srv.token('u1');
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await client(srv));
    const refused = await connectRefusal(srv, token);
    expect(refused.message).toMatch(/websocket error/);
    expect(srv.server.stats().rateLimited.concurrentConnections).toBe(1);
    const raw = keep(await upgradeAttempt(srv.port));
    expect(raw.status).toBe(429);
    expect(errorOf(raw.body)).toMatchObject({ code: 'rate_limited', retryAfterMs: 5000 });

    open[0]!.close();
    await waitUntil(() => (srv.server.stats().connections === 2 ? true : undefined), 2000, 'one closed');
    // The gate frees the place when the TCP socket closes, which may come a moment after the
    // connection's own stop on a loaded machine: ask until it is free.
    await waitUntil(
      async () => ((await upgradeAttempt(srv.port).then(keep)).status === 101 ? true : undefined),
      5000,
      'freed',
    );
  });

  it('caps open connections per node, whatever the IP', async () => {
    const srv = await server({ trustedProxies: ['127.0.0.1'], limits: { maxConnections: 2 } });
    const a = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '10.0.0.1' }));
    const b = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '10.0.0.2' }));
    const c = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '10.0.0.3' }));
    expect([a.status, b.status, c.status]).toEqual([101, 101, 429]);
    a.close();
    await a.closed;
    await waitUntil(
      async () => ((await upgradeAttempt(srv.port).then(keep)).status === 101 ? true : undefined),
      2000,
      'freed',
    );
  });
});

describe('client IP behind a proxy', () => {
  it('reads X-Forwarded-For from a trusted proxy: two clients behind it are two IPs', async () => {
    const srv = await server({ trustedProxies: ['127.0.0.0/8', '::1'], limits: { maxConnectionsPerIp: 1 } });
    const first = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.7' }));
    const other = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.8' }));
    const same = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7' }));
    expect([first.status, other.status, same.status]).toEqual([101, 101, 429]);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const srv = await server({ limits: { maxConnectionsPerIp: 1 } });
    const first = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.7' }));
    const forged = keep(await upgradeAttempt(srv.port, { 'X-Forwarded-For': '203.0.113.8' }));
    expect([first.status, forged.status]).toEqual([101, 429]);
  });

  it('one rule: the rightmost address that is not a trusted proxy, never a forged one to its left', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);
    const req = (peer: string, xff?: string): IncomingMessage =>
      ({
        socket: { remoteAddress: peer },
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      }) as IncomingMessage;
    expect(proxies.clientIpOf(req('203.0.113.1', '1.2.3.4'))).toBe('203.0.113.1');
    expect(proxies.clientIpOf(req('::ffff:10.0.0.5', '6.6.6.6, 198.51.100.9'))).toBe('198.51.100.9');
    expect(proxies.clientIpOf(req('10.0.0.5', '198.51.100.9, 10.1.2.3'))).toBe('198.51.100.9');
    expect(proxies.clientIpOf(req('fd00::1', 'junk, 198.51.100.9'))).toBe('198.51.100.9');
    expect(proxies.clientIpOf(req('10.0.0.5'))).toBe('10.0.0.5');
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => new TrustedProxies(['proxy.local'])).toThrow(/not an IP address/);
  });
});

describe('client events per connection and per user', () => {
  it('a flooding socket gets rate_limited with retryAfterMs; acks and probes still pass; a bystander is served', async () => {
    const srv = await server({ limits: { eventsPerMinutePerConnection: 10, eventsPerMinutePerUser: 1000 } });
    const flooder = await client(srv, 'flooder');
    const bystander = await client(srv, 'bystander');
    expect(isErrorReply(await bystander.sub('room:1'))).toBe(false);

    const replies = await Promise.all(
      Array.from({ length: 25 }, (_, i) => flooder.pub({ channel: 'room:1', type: 't', data: i })),
    );
    const refused = replies.filter(isErrorReply);
    expect(replies.length - refused.length).toBe(10);
    expect(refused).toHaveLength(15);
    for (const r of refused) {
      expect(r.error.code).toBe('rate_limited');
      expect((r.error as { retryAfterMs?: number }).retryAfterMs).toBeGreaterThan(0);
      expect((r.error as { retryAfterMs?: number }).retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    // Refused publishes were not stored: the bystander sees exactly the accepted ten.
    await bystander.messages.waitForCount(10, { channel: 'room:1' });
    expect(bystander.messages.offsets('room:1')).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
    expect(srv.server.stats().published).toBe(10);
    expect(srv.server.stats().rateLimited.events).toBe(15);

    // Probes and acks are not counted: the flooder's probe is answered.
    const probe = await new Promise<unknown>((resolve) => flooder.socket.emit('probe', { ts: 1 }, resolve));
    expect(probe).toMatchObject({ ts: 1 });
    flooder.ack({ 'room:1': 0 });

    // Without an ack callback the refusal comes as an `error` event; the connection stays open.
    const error = waitFor<{ code: string; retryAfterMs: number }>(flooder.socket, 'error');
    flooder.socket.emit('sub', { channel: 'room:2' });
    expect(await error).toMatchObject({ code: 'rate_limited' });
    expect(flooder.socket.connected).toBe(true);

    // The bystander is still served.
    const own = await bystander.pub({ channel: 'room:1', type: 't', data: 'still here' });
    expect(isErrorReply(own)).toBe(false);
  });

  it('by default: 200 events per minute per user (docs/architecture.md §6)', async () => {
    const srv = await server({ limits: defaults.limits });
    const c = await client(srv);
    const replies = await Promise.all(
      Array.from({ length: 205 }, (_, i) => c.pub({ channel: 'room:default', type: 't', data: i })),
    );
    expect(replies.filter((r) => !isErrorReply(r))).toHaveLength(200);
    expect(replies.slice(200).every((r) => isErrorReply(r) && r.error.code === 'rate_limited')).toBe(true);
  });

  it('the per-user limit holds across one user’s connections', async () => {
    const srv = await server({ limits: { eventsPerMinutePerConnection: 100, eventsPerMinutePerUser: 8 } });
    const a = await client(srv, 'same');
    const b = await client(srv, 'same');
    const replies = await Promise.all(
      [a, b].flatMap((c) => Array.from({ length: 6 }, (_, i) => c.pub({ channel: 'room:u', type: 't', data: i }))),
    );
    expect(replies.filter(isErrorReply)).toHaveLength(4);
    const other = await client(srv, 'other');
    expect(isErrorReply(await other.pub({ channel: 'room:u', type: 't', data: 'x' }))).toBe(false);
  });

  it('a socket that keeps sending while refused is cut, and its user may not reconnect until the window ends', async () => {
    const srv = await server({ limits: { eventsPerMinutePerConnection: 3, maxRefusalsPerConnection: 4 } });
    const token = await srv.token({ sub: 'hammer', channels: ['room:*'], publish: ['room:*'] });
    const hammer = await connectClient(srv.url, token);
    cleanups.push(() => hammer.close());
    const bystander = await client(srv, 'bystander');
    const errors: { code: string; message: string; retryAfterMs?: number }[] = [];
    hammer.socket.on('error', (e) => errors.push(e as { code: string; message: string; retryAfterMs?: number }));
    const disconnected = waitFor<string>(hammer.socket, 'disconnect');
    // Sent without waiting for replies (those in flight are lost with the connection).
    for (let i = 0; i < 8; i++)
      hammer.socket.emit('pub', { channel: 'room:h', type: 't', data: i, id: `h${i}` }, () => {});
    expect(await disconnected).toBe('io server disconnect');
    await waitUntil(() => (srv.server.stats().published === 3 ? true : undefined), 2000, 'the three allowed stored');
    expect(errors.at(-1)).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^disconnected/) });
    expect(errors.at(-1)!.retryAfterMs).toBeGreaterThan(0);
    expect(srv.server.stats().rateLimited.disconnects).toBe(1);

    const refused = await connectRefusal(srv, token);
    expect(refused.data).toMatchObject({ code: 'rate_limited' });
    expect((refused.data as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000);
    // Another user is not affected.
    expect(isErrorReply(await bystander.pub({ channel: 'room:h', type: 't', data: 'ok' }))).toBe(false);
  });

  it('a cut user reconnecting at once burns its IP’s connection attempts: soon a plain 429 at the gate', async () => {
    const srv = await server({
      limits: {
        eventsPerMinutePerConnection: 1,
        maxRefusalsPerConnection: 1,
        connectionAttemptsPerSecondPerIp: 20,
        connectionAttemptBurstPerIp: 20,
      },
    });
    const token = await srv.token({ sub: 'hammer', publish: ['room:*'] });
    const hammer = await connectClient(srv.url, token);
    cleanups.push(() => hammer.close());
    const disconnected = waitFor<string>(hammer.socket, 'disconnect');
    for (let i = 0; i < 3; i++)
      hammer.socket.emit('pub', { channel: 'room:h', type: 't', data: i, id: `h${i}` }, () => {});
    await disconnected;
    // Of 20 attempts a second: 1 for the first connection, then 1 + 10 for each refused reconnect.
    for (const _ of [1, 2]) expect((await connectRefusal(srv, token)).data).toMatchObject({ code: 'rate_limited' });
    const gate = keep(await upgradeAttempt(srv.port));
    expect(gate.status).toBe(429);
  });

  it('dryRun: counts the events over the limit and refuses none', async () => {
    const srv = await server({ limits: { eventsPerMinutePerConnection: 2, dryRun: true } });
    const c = await client(srv);
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => c.pub({ channel: 'room:d', type: 't', data: i })),
    );
    expect(replies.filter(isErrorReply)).toHaveLength(0);
    expect(srv.server.stats().rateLimited.events).toBe(3);
  });
});

describe('options', () => {
  it('fails fast on nonsense limits and proxies', async () => {
    const base = { jwtSecret: 'a-secret-of-sixteen-or-more', logger: false } as const;
    await expect(createTetherServer({ ...base, limits: { maxConnections: -1 } })).rejects.toThrow(
      /limits.maxConnections/,
    );
    await expect(
      createTetherServer({ ...base, limits: { connectionAttemptsPerSecondPerIp: 10, connectionAttemptBurstPerIp: 5 } }),
    ).rejects.toThrow(/connectionAttemptBurstPerIp/);
    await expect(createTetherServer({ ...base, trustedProxies: ['nope'] })).rejects.toThrow(/trustedProxies/);
  });
});

describe('tether serve: limits from the environment', () => {
  it('reads TETHER_LIMITS, TETHER_TRUSTED_PROXIES and TETHER_ALLOW_POLLING, and names a mistake', () => {
    expect(
      limitsFromEnv({
        TETHER_LIMITS: 'eventsPerMinutePerUser=600, maxConnectionsPerIp=0,dryRun=true',
        TETHER_TRUSTED_PROXIES: '10.0.0.0/8, ::1',
        TETHER_ALLOW_POLLING: 'true',
      }),
    ).toEqual({
      limits: { eventsPerMinutePerUser: 600, maxConnectionsPerIp: 0, dryRun: true },
      trustedProxies: ['10.0.0.0/8', '::1'],
      allowPollingTransport: true,
    });
    expect(limitsFromEnv({})).toEqual({});
    expect(() => limitsFromEnv({ TETHER_LIMITS: 'eventsPerMinute=5' })).toThrow(/unknown limit 'eventsPerMinute'/);
    expect(() => limitsFromEnv({ TETHER_LIMITS: 'maxConnections=-1' })).toThrow(/whole number/);
    expect(() => limitsFromEnv({ TETHER_LIMITS: 'connectionAttemptBurstPerIp=10' })).toThrow(/≥ connectionAttempts/);
    expect(() => limitsFromEnv({ TETHER_TRUSTED_PROXIES: 'lb.internal' })).toThrow(/not an IP address/);
    expect(() => limitsFromEnv({ TETHER_ALLOW_POLLING: 'yes' })).toThrow(/TETHER_ALLOW_POLLING/);
  });
});

describe('cluster-wide per-user limit (Redis store)', () => {
  it('two nodes on one Redis share a user’s budget; a user over it is refused on both', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const limits = { eventsPerMinutePerUser: 10, eventsPerMinutePerConnection: 100 };
    const a = await server({ store: redis.url, limits });
    const b = await server({
      store: redis.url,
      limits,
      jwtSecret: a.secret,
      apiKeys: [{ key: a.apiKey, tenant: '*' }],
    });
    const channel = `room:${randomUUID()}`;
    const onA = await client(a, 'roamer');
    const onB = await client(b, 'roamer');
    const sent = [];
    for (let i = 0; i < 7; i++) sent.push(await onA.pub({ channel, type: 't', data: i }));
    for (let i = 0; i < 7; i++) sent.push(await onB.pub({ channel, type: 't', data: i }));
    expect(sent.filter((r) => !isErrorReply(r))).toHaveLength(10);
    expect(sent.slice(0, 7).filter(isErrorReply)).toHaveLength(0);
    expect(sent.slice(7).filter(isErrorReply)).toHaveLength(4);
    expect(a.server.stats().rateLimited.events + b.server.stats().rateLimited.events).toBe(4);
  });

  it('the shared limiter counts in Redis, and in memory (insurance limiter) while Redis is down: still limited, never an error', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const client = new Redis(redis.url, redisStoreClientOptions(1000));
    client.on('error', () => undefined);
    cleanups.push(() => client.disconnect());
    await new Promise((resolve) => client.once('ready', resolve));
    const log = pino({ level: 'silent' });
    const limit = new RateLimitFactory(client, 'test:rl:', log).create({
      name: 'user',
      points: 3,
      durationSeconds: 60,
      shared: true,
    });
    expect(await limit.consume('u1')).toBeUndefined();
    expect(await redis.command('EXISTS', 'test:rl:user:u1')).toBe(1); // counted in Redis

    await redis.kill();
    await waitUntil(() => (client.status !== 'ready' ? true : undefined), 2000, 'client sees Redis gone');
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await limit.consume('u2'));
    expect(outcomes.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(outcomes[3]?.retryAfterMs).toBeGreaterThan(0);
  });
});
