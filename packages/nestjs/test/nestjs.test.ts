import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type Message, type StatusChange } from '@tether/client';
import { issueToken } from '@tether/server';
import { connectClient, isErrorReply, startRedis, waitUntil, type RedisServer } from '@tether/testing';
import { TetherService } from '@tether/nestjs';
import { ChannelPolicy, startApp, type Platform, type RunningApp } from './app.js';

const secret = randomBytes(32).toString('base64url');
const token = (sub: string): Promise<string> => issueToken({ secret, sub, channels: ['news:*'] });

/** True when nothing listens on `port` any more: a new server can take it. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe.each<Platform>(['express', 'fastify'])('@tether/nestjs on the %s platform', (platform) => {
  let redis: RedisServer;
  let running: RunningApp;
  const clients: TetherClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    running = await startApp(platform, { TETHER_STORE: redis.url, TETHER_JWT_SECRET: secret });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await running.app.close();
    await redis.stop();
  });

  const client = async (sub: string): Promise<TetherClient> => {
    const c = new TetherClient({ url: running.url, token: await token(sub), fallback: { enabled: false } });
    clients.push(c);
    return c;
  };

  it('a controller publishes through the injected TetherService and an SDK client receives it', async () => {
    const alice = await client('alice');
    const received: Message[] = [];
    alice.subscribe('news:world', (m) => void received.push(m));
    await alice.connect();
    // Subscribed once the server has the subscription: publish only then, or it is history.
    const res = await fetch(`${running.url}/news`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'news:world', text: 'hello from nest' }),
    });
    expect(res.status).toBe(201);
    const { offset } = (await res.json()) as { offset: number };
    await waitUntil(() => (received.length > 0 ? true : undefined), 10_000, 'the message');
    expect(received.map((m) => [m.channel, m.offset, m.type, m.data])).toEqual([
      ['news:world', offset, 'news', { text: 'hello from nest' }],
    ]);
    expect(running.app.get(TetherService).stats().published).toBeGreaterThanOrEqual(1);
  });

  it("serves Tether's routes and Nest's routes side by side", async () => {
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const refused = await fetch(`${running.url}/v1/publish`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(401); // Tether's API answered (no API key), not Nest's 404
    expect((await fetch(`${running.url}/nowhere`)).status).toBe(404);
    const health = await fetch(`${running.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', info: { tether: { status: 'up' } } });
  });

  it('an authorize hook over an injected provider refuses a channel', async () => {
    running.app.get(ChannelPolicy).close('news:secret');
    const socket = await connectClient(running.url, await token('bob'));
    try {
      const refused = await socket.sub('news:secret');
      expect(isErrorReply(refused) && refused.error.code).toBe('forbidden');
      const allowed = await socket.sub('news:open');
      expect(isErrorReply(allowed)).toBe(false);
    } finally {
      socket.close();
    }
  });

  it('a relevance rule over an injected provider drops on replay what the provider says is gone', async () => {
    // The `isRelevant` hook runs on replay, redelivery, HTTP reads and push (never on live fan-out).
    running.app.get(ChannelPolicy).withdraw('offer-2');
    await running.app.get(TetherService).publishMany([
      { channel: 'news:offers', type: 'offer', id: 'offer-1', data: 'offer-1' },
      { channel: 'news:offers', type: 'offer', id: 'offer-2', data: 'offer-2' },
      { channel: 'news:offers', type: 'news', id: 'marker', data: 'marker' },
    ]);
    const dave = await connectClient(running.url, await token('dave'));
    try {
      expect(isErrorReply(await dave.sub('news:offers', { offset: 0 }))).toBe(false);
      await dave.messages.waitFor((m) => m.data === 'marker', 10_000);
      expect(dave.messages.messages.map((m) => m.data)).toEqual(['offer-1', 'marker']);
    } finally {
      dave.close();
    }
  });

  it('the terminus indicator reports down while the store is down, and up again after', async () => {
    await redis.kill();
    const down = await waitUntil(
      async () => {
        const res = await fetch(`${running.url}/health`);
        return res.status === 503 ? ((await res.json()) as unknown) : undefined;
      },
      15_000,
      '/health down',
    );
    expect(down).toMatchObject({ status: 'error', error: { tether: { status: 'down' } } });
    await redis.restart();
    await waitUntil(
      async () => ((await fetch(`${running.url}/health`)).status === 200 ? true : undefined),
      15_000,
      '/health up',
    );
  });
});

/** `promise`, or a rejection naming `what` after `ms` (a close that hangs fails with a reason). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe.each<Platform>(['express', 'fastify'])('app.close() on the %s platform', (platform) => {
  it('closes Tether and Nest cleanly: clients see the server go, the port is free', async () => {
    const redis = await startRedis();
    try {
      const running = await startApp(platform, { TETHER_STORE: redis.url, TETHER_JWT_SECRET: secret });
      const carol = new TetherClient({ url: running.url, token: await token('carol'), fallback: { enabled: false } });
      const changes: StatusChange[] = [];
      carol.on('status', (change) => changes.push(change));
      await carol.connect();
      // Tether closes its sockets before Nest closes its HTTP server, which would wait for them.
      await within(running.app.close(), 15_000, 'app.close()');
      await waitUntil(() => (changes.some((c) => c.to === 'reconnecting') ? true : undefined), 10_000, 'reconnecting');
      expect(await running.app.get(TetherService).ready()).toBe(false);
      expect(await portIsFree(running.port)).toBe(true);
      await carol.close();
    } finally {
      await redis.stop();
    }
  });
});
