/**
 * The SDK honours `server_busy`: a refused handshake is retried after `retryAfterMs` plus a random
 * share of it (jitter, so the refused crowd does not return at once), against the real server with
 * an injected event-loop lag that refuses the first two handshakes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, TetherError } from '@tether/protocol';
import { TestBed } from '@tether/testing';
import { hintedDelay } from '../src/connector.js';
import { Clients, fast } from './helpers.js';

const RETRY_AFTER_MS = 400;
const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

describe('server_busy', () => {
  it('waits retryAfterMs plus up to as much again, for server_busy only', () => {
    const busy = new TetherError(ErrorCode.ServerBusy, 'busy', { retryAfterMs: 1000 });
    expect(hintedDelay(busy, () => 0)).toBe(1000);
    expect(hintedDelay(busy, () => 0.5)).toBe(1500);
    expect(hintedDelay(busy, () => 0.999)).toBe(1999);
    const limited = new TetherError(ErrorCode.RateLimited, 'slow down', { retryAfterMs: 1000 });
    expect(hintedDelay(limited, () => 0.5)).toBe(1000);
    expect(hintedDelay(undefined)).toBe(0);
  });

  it('a refused handshake is retried no sooner than the hint, then connects', async () => {
    // Per attempt the gate asks first, then the handshake: the first two handshakes see a lagging loop.
    const answers = [0, 900, 0, 900];
    const server = await bed.start({
      busyLoopLagMs: 500,
      busyRetryAfterMs: RETRY_AFTER_MS,
      loopLag: () => answers.shift() ?? 0,
    });
    const client = clients.make({ url: server.url, token: await server.token('u1'), ...fast });
    const started = Date.now();
    await client.connect();
    const took = Date.now() - started;
    expect(client.status).toBe('connected');
    expect(client.metrics()).toMatchObject({ failures: 2, lastFailureReason: 'server_busy' });
    expect(server.server.stats().busyRefusals).toBe(2);
    // `fast` alone would have retried within 50–200 ms; the hint asked for 400 (+ up to 400) each time.
    expect(took).toBeGreaterThanOrEqual(2 * RETRY_AFTER_MS - 20);
    expect(took).toBeLessThan(4 * RETRY_AFTER_MS + 1000);
  });
});
