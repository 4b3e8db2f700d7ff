/**
 * A handler that throws is the app's bug or a transient fault (a database down): the message must
 * not be lost, skipped or handled twice, and nothing behind it may run first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import { ErrorCode, type ClientErrorContext, type Message } from '@tether/client';
import { Clients, fast, range, sleep } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

describe('a throwing handler', () => {
  it('gets the same message again; it is handled once in the end, and later messages wait for it', async () => {
    const server = await bed.start();
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['jobs:*'] }),
      ...fast,
    });
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));

    const calls: number[] = [];
    const handled: number[] = [];
    let failuresLeft = 3;
    const sub = client.subscribe(
      'jobs:1',
      async (m: Message) => {
        calls.push(m.offset);
        // Offset 3 fails three times: synchronously, by rejection, then by a throw after an await.
        if (m.offset === 3 && failuresLeft > 0) {
          failuresLeft--;
          if (failuresLeft === 2) throw new Error('db down');
          await sleep(1);
          if (failuresLeft === 1) return Promise.reject(new Error('still down'));
          throw new Error('flaky');
        }
        handled.push(m.offset);
      },
      { since: { offset: 0 } },
    );
    await client.connect();
    for (let i = 1; i <= 6; i++) await server.server.publish({ channel: 'jobs:1', type: 'job', data: i });

    await waitUntil(() => (handled.length === 6 ? true : undefined), 5000, 'all handled');
    expect(handled).toEqual(range(1, 6));
    expect(calls).toEqual([1, 2, 3, 3, 3, 3, 4, 5, 6]);
    expect(sub.position?.offset).toBe(6);

    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e.channel).toBe('jobs:1');
      expect(e.error.code).toBe(ErrorCode.HandlerFailed);
    }
    expect((errors[0]!.error.cause as Error).message).toBe('db down');
    expect(client.metrics()).toMatchObject({ handled: 6, handlerErrors: 3 });
  });

  it('is not acked while it fails: the server redelivers, and the redelivery is not handled twice', async () => {
    // Short server ack timeouts, so that redeliveries happen while the handler still fails.
    const server = await bed.start({ ackTimeoutMs: 150, retryAckTimeoutMs: 150, retryDelayMs: 50 });
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['jobs:*'] }),
      ...fast,
      ackIntervalMs: 20,
      handlerRetry: { initialDelayMs: 400, maxDelayMs: 400 },
    });
    const handled: number[] = [];
    let failing = true;
    client.subscribe(
      'jobs:2',
      (m) => {
        if (m.offset === 1 && failing) {
          failing = false;
          throw new Error('once');
        }
        handled.push(m.offset);
      },
      { since: { offset: 0 } },
    );
    await client.connect();
    await server.server.publishMany([1, 2, 3].map((n) => ({ channel: 'jobs:2', type: 'job', data: n })));
    await waitUntil(() => (handled.length === 3 ? true : undefined), 5000, 'all handled');
    await waitUntil(() => (server.server.stats().acked >= 3 ? true : undefined), 3000, 'acked');
    await sleep(300);
    expect(handled).toEqual([1, 2, 3]);
    expect(server.server.stats().redelivered).toBeGreaterThan(0);
    expect(client.metrics().deduplicated).toBeGreaterThan(0);
  });
});
