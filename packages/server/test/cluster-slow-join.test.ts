/**
 * The library on an app's server that already listens, joining a cluster slowly (its Redis behind
 * a fault proxy that delays every chunk): requests that arrive during the join are not answered
 * 500. A publish and a handshake wait at the start gate and go on once the node has joined; readiness says
 * "not ready" meanwhile; a join that fails answers the waiting publish `store_unavailable` (503).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTetherServer, issueToken, type TetherServer } from '@tether/server';
import { connectClient, startFaultProxy, startRedis, type FaultProxy, type RedisServer } from '@tether/testing';

const apiKey = `tk_${randomBytes(16).toString('hex')}`;
const jwtSecret = randomBytes(32).toString('base64url');

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** An app's own server, listening before Tether is created on it; it answers its own paths. */
async function appServer(): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((_req, res) => {
    res.statusCode = 200;
    res.end('app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${port}` };
}

async function redisProxy(): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: redis.port } });
  onTestFinished(() => proxy.close());
  return proxy;
}

function publish(url: string, channel: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return fetch(`${url}/v1/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, type: 'note', data: { n: 1 } }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
}

describe('a publish during a slow cluster join', () => {
  it('waits for the join and is appended: no 500; /readyz says not ready until joined', async () => {
    const app = await appServer();
    const proxy = await redisProxy();
    proxy.delay(400); // every chunk both ways: the join takes a few round trips of 800 ms
    let joined = false;
    const creating = createTetherServer({
      httpServer: app.server,
      store: 'memory',
      cluster: { redisUrl: `redis://127.0.0.1:${proxy.port}` },
      jwtSecret,
      apiKeys: [{ key: apiKey, tenant: '*' }],
      logger: false,
    }).then((server) => {
      joined = true;
      return server;
    });
    onTestFinished(async () => (await creating.catch(() => undefined))?.close());

    const ready = await fetch(`${app.url}/readyz`);
    const token = await issueToken({ secret: jwtSecret, sub: 'u1', channels: ['c:*'] });
    // A handshake during the join waits for it too (rooms joined before the adapter swap would be lost).
    const connecting = connectClient(app.url, token, { timeoutMs: 10_000 }).then((client) => ({ client, joined }));
    const published = publish(app.url, 'c:1');
    const appPath = await fetch(`${app.url}/elsewhere`);
    expect(joined).toBe(false); // all of the above reached the server during the join
    expect(ready.status).toBe(503);
    expect(await appPath.text()).toBe('app'); // the app's own paths still answered by the app

    const answer = await published;
    expect(joined).toBe(true); // it waited for the join
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ offset: 1, duplicate: false });
    const server: TetherServer = await creating;
    expect(server.nodeId).toBeTypeOf('string');
    expect(server.stats().published).toBe(1);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const { client, joined: joinedWhenConnected } = await connecting;
    onTestFinished(() => client.close());
    expect(joinedWhenConnected).toBe(true);
    expect(await client.sub('c:1', { offset: 0 })).toMatchObject({ offset: 1 });
    await client.messages.waitForCount(1, { channel: 'c:1' });
  });

  it('a join that fails answers the waiting publish store_unavailable (503), and createTetherServer rejects', async () => {
    const app = await appServer();
    const proxy = await redisProxy();
    proxy.delay(300);
    const creating = createTetherServer({
      httpServer: app.server,
      store: 'memory',
      cluster: { redisUrl: `redis://127.0.0.1:${proxy.port}` },
      jwtSecret,
      apiKeys: [{ key: apiKey, tenant: '*' }],
      logger: false,
    });
    const failed = creating.then(
      () => undefined,
      (err: unknown) => err,
    );
    const published = publish(app.url, 'c:2');
    // The connections made so far are dropped and new ones refused: the join fails.
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.block();
    proxy.cut();
    const answer = await published;
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { code: 'store_unavailable' } });
    expect(await failed).toMatchObject({ code: 'store_unavailable' });
  });
});
