import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil, type TestClient, type TestServer } from '@tether/testing';

/**
 * Redelivery must never add load where it is short: not to a client whose acks keep moving, not
 * while the node's event loop lags. A client that really stalls still gets it, with backoff.
 * The server's clock is injected: redelivery is judged by it, while the sweeper runs on real timers.
 */
let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

const clock = { ms: Date.now() };
const timing = {
  ackTimeoutMs: 300,
  retryAckTimeoutMs: 200,
  retryDelayMs: 20,
  maxRetries: 2,
  redeliveryBackoff: 2,
  // Real loop lag of a busy test machine must not hold these tests' redelivery (the last test sets it).
  redeliveryMaxLoopLagMs: 60_000,
  now: () => clock.ms,
};

/** Real time for a few sweeps to run (they judge by the injected clock). */
const someSweeps = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

async function subscriber(sub: string): Promise<TestClient> {
  const c = await bed.connect({ sub, channels: ['room:*'] });
  await c.sub('room:r');
  return c;
}

async function publish(count: number): Promise<void> {
  await server.server.publishMany(Array.from({ length: count }, (_, i) => ({ channel: 'room:r', type: 't', data: i })));
}

describe('redelivery that never amplifies overload', () => {
  it('a client acking steadily while far behind the first unacked send is never redelivered to', async () => {
    clock.ms = Date.now();
    server = await bed.start(timing);
    const behind = await subscriber('behind');
    await publish(5);
    await behind.messages.waitForCount(5);
    // Every 100 ms of server time the client acks one more offset and one more message arrives:
    // its first unacked message was sent ever longer ago (up to 2 s, the ring still has it), but
    // its ack never stands still for the ack timeout.
    for (let k = 1; k <= 20; k++) {
      clock.ms += 100;
      behind.ack({ 'room:r': k });
      await publish(1);
      await someSweeps();
    }
    const offsets = behind.messages.offsets('room:r');
    expect(offsets).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(server.server.stats()).toMatchObject({ redelivered: 0, missed: 0 });

    // Once its ack stands still for the ack timeout, it is stalled: redelivered from its ack.
    clock.ms += 300;
    const again = await behind.messages.waitForCount(26, { timeoutMs: 3000 });
    expect(again[25]!.offset).toBe(21);
  });

  it('a stalled client gets redelivery after the ack timeout, backing off, then counts missed', async () => {
    clock.ms = Date.now();
    server = await bed.start(timing);
    const silent = await subscriber('silent');
    await publish(3);
    await silent.messages.waitForCount(3);

    clock.ms += 299;
    await someSweeps();
    expect(silent.messages.messages).toHaveLength(3);
    clock.ms += 1;
    await silent.messages.waitForCount(6, { timeoutMs: 3000 }); // first redelivery: ackTimeoutMs

    clock.ms += 199;
    await someSweeps();
    expect(silent.messages.messages).toHaveLength(6);
    clock.ms += 1;
    await silent.messages.waitForCount(9, { timeoutMs: 3000 }); // second: retryAckTimeoutMs later

    clock.ms += 399; // the next wait is twice as long (redeliveryBackoff 2)
    await someSweeps();
    expect(server.server.stats().missed).toBe(0);
    clock.ms += 1;
    await waitUntil(() => (server.server.stats().missed === 3 ? true : undefined), 3000, 'missed counted');
    expect(server.server.stats().redelivered).toBe(6);
    expect(silent.messages.offsets('room:r')).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('a node whose event loop lags holds redelivery back until it has run an ack timeout without lag', async () => {
    clock.ms = Date.now();
    server = await bed.start({ ...timing, redeliveryMaxLoopLagMs: 50 });
    const silent = await subscriber('silent');
    await publish(3);
    await silent.messages.waitForCount(3);
    clock.ms += 1000; // long stalled by the server's clock

    // The loop lags: 120 ms busy, 10 ms free (less than the sweep period), for about a second.
    for (let round = 0; round < 7; round++) {
      const until = performance.now() + 120;
      while (performance.now() < until) {
        // busy: the node is behind
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(server.server.stats().redelivered).toBe(0);
    // Recovered, but its acks may have waited unread: it listens for an ack timeout first.
    await someSweeps();
    expect(server.server.stats().redelivered).toBe(0);
    clock.ms += 300;
    await silent.messages.waitForCount(6, { timeoutMs: 3000 });
    expect(server.server.stats().redelivered).toBe(3);
  });
});
