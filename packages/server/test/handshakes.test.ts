/**
 * Admission by handshakes in progress (`maxHandshakesInProgress`): while that many handshakes are
 * admitted and not yet resumed, a new upgrade is refused at the gate (503, `Retry-After`,
 * `server_busy` with `retryAfterMs` = `busyRetryAfterMs`, no Engine.IO session); a handshake
 * that resumes, is refused, or whose transport closes makes room. Real sockets on port 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  startServer,
  waitUntil,
  type ConnectError,
  type StartServerOptions,
  type TestServer,
} from '@tether/testing';
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
  it('refuses an upgrade with 503 and the hint while the cap is reached; a closed transport makes room', async () => {
    const srv = await server({ maxHandshakesInProgress: 2, busyRetryAfterMs: 700 });
    // Upgraded and silent (no CONNECT): handshakes in progress.
    const [a, b] = await Promise.all([upgradeAttempt(srv.port).then(keep), upgradeAttempt(srv.port).then(keep)]);
    expect([a!.status, b!.status]).toEqual([101, 101]);
    expect(inProgress(srv)).toBe(2);
    const engineClients = srv.server.io.engine.clientsCount;

    const refused = await upgradeAttempt(srv.port).then(keep);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'server_busy', message: expect.stringContaining('2 handshakes in progress'), retryAfterMs: 700 },
    });
    expect(srv.server.io.engine.clientsCount).toBe(engineClients); // no session for the refused one
    expect(srv.server.stats().busyRefusals).toBe(1);

    a!.close();
    await settlesAt(srv, 1);
    expect((await upgradeAttempt(srv.port).then(keep)).status).toBe(101);
    expect(inProgress(srv)).toBe(2);
  });

  it('a handshake is done once its connection has resumed, or once it was refused', async () => {
    const srv = await server({ maxHandshakesInProgress: 1 });
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
    await settlesAt(srv, 0);
    expect(srv.server.stats().busyRefusals).toBe(0);
  });

  it('never refuses with maxHandshakesInProgress 0', async () => {
    const srv = await server({ maxHandshakesInProgress: 0 });
    const attempts = await Promise.all([1, 2, 3].map(() => upgradeAttempt(srv.port).then(keep)));
    expect(attempts.map((x) => x.status)).toEqual([101, 101, 101]);
    expect(srv.server.stats().busyRefusals).toBe(0);
  });
});
