/**
 * Tokens: refreshed before `exp` on a live connection (no reconnect), fetched again after a
 * `token_expired`, and an expiry the client cannot fix ends in `failed` with `token_expired`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import { ClientState, ErrorCode, StatusReason, type ClientErrorContext } from '@tether/client';
import { Clients, Recorder, fast, sleep, statusLog } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

describe('tokens', () => {
  it('short-lived tokens from getToken are refreshed before exp: the connection stays, messages flow', async () => {
    const server = await bed.start();
    let issued = 0;
    const client = clients.make({
      url: server.url,
      getToken: () => {
        issued++;
        return server.token({ sub: 'u1', channels: ['feed:*'], ttlSeconds: 3 });
      },
      ...fast,
    });
    const statuses = statusLog(client);
    const recorder = new Recorder();
    client.subscribe('feed:t', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    const socketIds = () => [...server.server.io.sockets.sockets.keys()];
    const firstSocket = socketIds();

    // Well past two token lifetimes, publishing all along.
    for (let n = 1; n <= 12; n++) {
      await server.server.publish({ channel: 'feed:t', type: 't', data: n });
      await sleep(550);
    }
    await waitUntil(() => (recorder.handled.length === 12 ? true : undefined));
    expect(issued).toBeGreaterThanOrEqual(3);
    expect(statuses.map((s) => s.to)).toEqual([ClientState.Connecting, ClientState.Connected]);
    expect(socketIds()).toEqual(firstSocket);
  }, 15_000);

  it('an expired token is replaced through getToken before connecting', async () => {
    const server = await bed.start();
    const tokens = [
      await server.token({ sub: 'u1', ttlSeconds: 1, now: () => Date.now() - 60_000 }), // long expired
      await server.token({ sub: 'u1' }),
    ];
    let calls = 0;
    const client = clients.make({ url: server.url, getToken: () => tokens[Math.min(calls++, 1)]!, ...fast });
    const statuses = statusLog(client);
    await client.connect();
    expect(calls).toBe(2);
    expect(statuses.map((s) => s.to)).toEqual([ClientState.Connecting, ClientState.Connected]);
    expect(client.metrics().failures).toBe(0);
  });

  it('after the server closed the connection with token_expired, getToken is asked again and nothing is lost', async () => {
    const server = await bed.start({ clockSkewSeconds: 0 }); // the server ends the connection at exp
    let calls = 0;
    let unreachable = false; // the app's auth backend, down for a while
    const client = clients.make({
      url: server.url,
      getToken: () => {
        calls++;
        if (unreachable) throw new Error('auth backend unreachable');
        return server.token({ sub: 'u1', channels: ['feed:*'], ttlSeconds: 2 });
      },
      ...fast,
    });
    const statuses = statusLog(client);
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    const recorder = new Recorder();
    client.subscribe('feed:x', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    unreachable = true; // the refresh before exp fails: the server ends the connection at exp
    await waitUntil(() => (client.status === ClientState.Reconnecting ? true : undefined), 5000, 'kicked');
    expect(statuses.at(-1)).toMatchObject({ reason: StatusReason.ServerDisconnect });
    for (let n = 1; n <= 5; n++) await server.server.publish({ channel: 'feed:x', type: 't', data: n });
    unreachable = false;
    await waitUntil(() => (client.status === ClientState.Connected ? true : undefined), 5000, 'back');
    await waitUntil(() => (recorder.handled.length === 5 ? true : undefined));
    expect(recorder.offsets()).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(errors.some((e) => (e.error.cause as Error | undefined)?.message === 'auth backend unreachable')).toBe(true);
    expect(statuses.some((s) => s.to === ClientState.Failed)).toBe(false);
  });

  it('a static token that expires on a live connection ends in failed with token_expired (no blind reconnect)', async () => {
    const server = await bed.start({ clockSkewSeconds: 0 }); // the server ends the connection at exp
    const client = clients.make({ url: server.url, token: await server.token({ sub: 'u1', ttlSeconds: 2 }), ...fast });
    const statuses = statusLog(client);
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    await waitUntil(() => (client.status === ClientState.Failed ? true : undefined), 5000, 'failed');
    const last = statuses.at(-1)!;
    expect(last).toMatchObject({
      from: ClientState.Connected,
      to: ClientState.Failed,
      reason: StatusReason.TokenExpired,
    });
    expect(last.error?.code).toBe(ErrorCode.TokenExpired);
    expect(errors.map((e) => e.error.code)).toContain(ErrorCode.TokenExpired);
    await sleep(300);
    expect(server.server.io.sockets.sockets.size).toBe(0); // it did not come back with the dead token
  });

  it('an already expired static token: connect() rejects with token_expired and the status is failed', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', ttlSeconds: 1, now: () => Date.now() - 60_000 });
    const client = clients.make({ url: server.url, token, ...fast });
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCode.TokenExpired });
    expect(client.status).toBe(ClientState.Failed);
  });

  it('a token the server refuses (bad signature) fails with unauthorized after one fresh try', async () => {
    const server = await bed.start();
    const other = await bed.start(); // a server with another secret signs the tokens
    let calls = 0;
    const client = clients.make({
      url: server.url,
      getToken: () => {
        calls++;
        return other.token('u1');
      },
      ...fast,
    });
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCode.Unauthorized });
    expect(calls).toBe(2);
    expect(client.status).toBe(ClientState.Failed);
  });
});
