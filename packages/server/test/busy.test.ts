/**
 * Handshakes refused early while the event loop lags (`busyLoopLagMs`), with an injected lag:
 * at the gate before Engine.IO (503, `Retry-After`, `server_busy` and `retryAfterMs` in the body,
 * no session, none of the IP's attempts spent), and in the handshake for a transport the gate let
 * in before the loop fell behind (`connect_error` with the same body, before the token is
 * verified). Below the threshold, or with it at 0, everything connects. Real sockets on port 0.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  connectClient,
  startServer,
  type ConnectError,
  type StartServerOptions,
  type TestServer,
} from '@tether/testing';
import { upgradeAttempt, type Attempt } from './limits-helpers.js';
import { LoopLagSampler } from '../src/delivery/loop-lag.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: StartServerOptions): Promise<TestServer> {
  const srv = await startServer(options);
  cleanups.push(() => srv.close());
  return srv;
}

function keep(attempt: Attempt): Attempt {
  cleanups.push(() => attempt.close());
  return attempt;
}

/** The answers of the injected lag, one per question, the last one repeated. */
function lagSequence(...answers: number[]): () => number {
  return () => (answers.length > 1 ? answers.shift()! : answers[0]!);
}

describe('server_busy', () => {
  it('refuses an upgrade at the gate with 503, Retry-After and the hint while the loop lags, and lets it in after', async () => {
    let lag = 800;
    const srv = await server({
      busyLoopLagMs: 500,
      busyRetryAfterMs: 1500,
      loopLag: () => lag,
      limits: { connectionAttemptsPerSecondPerIp: 1, connectionAttemptBurstPerIp: 1 },
    });
    const refused = await Promise.all([1, 2, 3].map(() => upgradeAttempt(srv.port).then(keep)));
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('2');
      expect(JSON.parse(r.body)).toEqual({
        error: { code: 'server_busy', message: expect.stringContaining('800 ms'), retryAfterMs: 1500 },
      });
    }
    expect(srv.server.io.engine.clientsCount).toBe(0);
    expect(srv.server.stats().busyRefusals).toBe(3);
    // The refusals spent none of the IP's single attempt.
    expect(srv.server.stats().rateLimited.connectionAttempts).toBe(0);
    lag = 500; // at the threshold: not over it
    expect((await upgradeAttempt(srv.port).then(keep)).status).toBe(101);
    expect(srv.server.stats().busyRefusals).toBe(3);
  });

  it('refuses a handshake whose transport was let in before the loop fell behind, before verifying its token', async () => {
    // The gate asks first (no lag), the handshake second (lagging).
    const srv = await server({ busyLoopLagMs: 100, busyRetryAfterMs: 700, loopLag: lagSequence(0, 300, 0) });
    const refusal = await connectClient(srv.url, 'not-even-a-token').then(
      () => {
        throw new Error('connected although the server is busy');
      },
      (err: ConnectError) => err,
    );
    expect(refusal.data).toEqual({ code: 'server_busy', message: expect.any(String), retryAfterMs: 700 });
    expect(srv.server.stats().authFailures).toBe(0);
    // The loop caught up: the next one connects.
    const c = await connectClient(srv.url, await srv.token('u1'));
    cleanups.push(() => c.close());
    expect(c.socket.connected).toBe(true);
  });

  it('never refuses with busyLoopLagMs 0', async () => {
    const srv = await server({ busyLoopLagMs: 0, loopLag: () => 10_000 });
    expect((await upgradeAttempt(srv.port).then(keep)).status).toBe(101);
    expect(srv.server.stats().busyRefusals).toBe(0);
  });
});

describe('loop lag sampler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the worst timer drift of its window, and a stall in progress before its timer fires', () => {
    vi.useFakeTimers({ now: 0 });
    const sampler = new LoopLagSampler({ intervalMs: 50, windowMs: 200, now: () => Date.now() });
    cleanups.push(() => sampler.stop());
    // Before its first tick it says nothing (start-up work is no overload).
    vi.setSystemTime(Date.now() + 700);
    expect(sampler.lag()).toBe(0);
    vi.advanceTimersByTime(250);
    expect(sampler.lag()).toBe(0);
    // The loop is held: 400 ms pass and the timer cannot fire.
    vi.setSystemTime(Date.now() + 400);
    expect(sampler.lag()).toBe(350);
    // It fires 400 ms late once; the window remembers that for 4 ticks, then forgets it.
    vi.advanceTimersByTime(50);
    expect(sampler.lag()).toBe(400);
    vi.advanceTimersByTime(150);
    expect(sampler.lag()).toBe(400);
    vi.advanceTimersByTime(50);
    expect(sampler.lag()).toBe(0);
  });
});
