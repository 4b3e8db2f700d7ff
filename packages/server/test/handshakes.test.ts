/**
 * Admission by handshakes in progress (`maxHandshakesInProgress`): while that many verified
 * handshakes have not resumed yet, a new upgrade is refused at the gate (503, `Retry-After`,
 * `server_busy` with `retryAfterMs` = `busyRetryAfterMs`, no Engine.IO session); a handshake that
 * resumed or closed makes room; silent upgrades and bad tokens never hold a place. The resumes are
 * held back by a store whose reads are slow. Real sockets on port 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  SlowStore,
  connectClient,
  startServer,
  waitUntil,
  type ConnectError,
  type StartServerOptions,
  type TestServer,
} from '@tether/testing';
import { MemoryLogStore } from '@tether/server';
import { upgradeAttempt, type Attempt } from './limits-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: StartServerOptions): Promise<TestServer> {
  // No loop-lag refusals here: only the count decides.
  const srv = await startServer({ busyLoopLagMs: 0, ...options });
  cleanups.push(() => srv.close());
  return srv;
}

function keep(attempt: Attempt): Attempt {
  cleanups.push(() => attempt.close());
  return attempt;
}

const inProgress = (srv: TestServer): number => srv.server.stats().handshakesInProgress;
const settlesAt = (srv: TestServer, n: number) =>
  waitUntil(() => (inProgress(srv) === n ? true : undefined), 2000, `${n} handshakes in progress`);

describe('maxHandshakesInProgress', () => {
  it('refuses an upgrade with 503 and the hint while the cap is reached; resumed handshakes make room', async () => {
    const store = new SlowStore(new MemoryLogStore({ maxMessages: 100 }), { readDelayMs: 1500 });
    const srv = await server({ store, maxHandshakesInProgress: 2, busyRetryAfterMs: 700 });
    await srv.server.publish({ channel: 'room:1', type: 't', data: { n: 1 } });
    // Two handshakes that must replay offset 1: in progress until the slow read is back.
    const resuming = await Promise.all(
      ['u1', 'u2'].map(async (sub) =>
        connectClient(srv.url, await srv.token({ sub, channels: ['room:*'] }), {
          positions: { 'room:1': { offset: 0 } },
        }),
      ),
    );
    for (const c of resuming) cleanups.push(() => c.close());
    expect(inProgress(srv)).toBe(2);

    const refused = await upgradeAttempt(srv.port).then(keep);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'server_busy', message: expect.stringContaining('2 handshakes in progress'), retryAfterMs: 700 },
    });
    expect(srv.server.stats().busyRefusals).toBe(1);

    await settlesAt(srv, 0);
    expect((await upgradeAttempt(srv.port).then(keep)).status).toBe(101);
  });

  it('silent upgrades and refused tokens hold no place; a resumed connection frees its own', async () => {
    const srv = await server({ maxHandshakesInProgress: 1 });
    const silent = await Promise.all([1, 2, 3].map(() => upgradeAttempt(srv.port).then(keep)));
    expect(silent.map((x) => x.status)).toEqual([101, 101, 101]);
    expect(inProgress(srv)).toBe(0);
    for (const sub of ['u1', 'u2', 'u3']) {
      const client = await connectClient(srv.url, await srv.token(sub), { positions: { 'room:1': { offset: 0 } } });
      cleanups.push(() => client.close());
      expect(client.socket.connected).toBe(true);
      await settlesAt(srv, 0);
    }
    const refusal = await connectClient(srv.url, 'not-a-token').then(
      () => {
        throw new Error('connected with a bad token');
      },
      (err: ConnectError) => err,
    );
    expect(refusal.data).toMatchObject({ code: 'unauthorized' });
    expect(inProgress(srv)).toBe(0);
    expect(srv.server.stats().busyRefusals).toBe(0);
  });

  it('never refuses with maxHandshakesInProgress 0', async () => {
    const store = new SlowStore(new MemoryLogStore({ maxMessages: 100 }), { readDelayMs: 1000 });
    const srv = await server({ store, maxHandshakesInProgress: 0 });
    await srv.server.publish({ channel: 'room:1', type: 't', data: { n: 1 } });
    const clients = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (sub) =>
        connectClient(srv.url, await srv.token({ sub, channels: ['room:*'] }), {
          positions: { 'room:1': { offset: 0 } },
        }),
      ),
    );
    for (const c of clients) cleanups.push(() => c.close());
    expect(inProgress(srv)).toBe(3);
    expect((await upgradeAttempt(srv.port).then(keep)).status).toBe(101);
    expect(srv.server.stats().busyRefusals).toBe(0);
  });
});
