/**
 * The core promise, end to end: whatever the network does, the app's handler sees each offset of a
 * channel once, in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogStore } from '@tether/server';
import { SlowStore, TestBed, waitUntil } from '@tether/testing';
import { ClientState } from '@tether/client';
import { Clients, Recorder, dropConnections, fast, range, sleep, statusLog } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

describe('exactly-once handling', () => {
  it('handles every offset once, in order, over 20 forced disconnects during a 2000-message stream', async () => {
    // Store reads that take a while (as from a remote store), so live publishes land during replays.
    const store = new SlowStore(new MemoryLogStore({ maxMessages: 5000 }), {
      readDelayMs: () => 2 + Math.random() * 10,
    });
    const server = await bed.start({ store });
    const channel = 'feed:1';
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['feed:*'] }),
      ...fast,
    });
    const statuses = statusLog(client);
    const recorder = new Recorder();
    // Async handler: the position must move only once it resolved.
    client.subscribe(
      channel,
      async (m) => {
        if (m.offset % 7 === 0) await sleep(0);
        recorder.handler(m);
      },
      { since: { offset: 0 } },
    );
    await client.connect();

    const total = 2000;
    let published = 0;
    const publishing = (async () => {
      while (published < total) {
        const batch = Math.min(10, total - published);
        await server.server.publishMany(
          Array.from({ length: batch }, (_, i) => ({ channel, type: 'tick', data: { n: published + i + 1 } })),
        );
        published += batch;
        await new Promise((r) => setImmediate(r));
      }
    })();

    for (let round = 0; round < 20; round++) {
      await waitUntil(() => (recorder.handled.length > (round + 1) * 80 ? true : undefined), 10_000, `round ${round}`);
      expect(dropConnections(server)).toBe(1);
      await waitUntil(() => (client.metrics().connects === round + 2 ? true : undefined), 5000, 'reconnected');
    }
    await publishing;
    await waitUntil(() => (recorder.handled.length >= total ? true : undefined), 15_000, 'all handled');
    await sleep(300); // anything late would show up as a duplicate now

    expect(recorder.offsets(channel)).toEqual(range(1, total));
    expect(recorder.handled.map((m) => (m.data as { n: number }).n)).toEqual(range(1, total));
    const metrics = client.metrics();
    expect(metrics.reconnects).toBeGreaterThanOrEqual(20);
    expect(metrics.handled).toBe(total);
    expect(metrics.received).toBe(metrics.handled + metrics.deduplicated);
    expect(statuses.filter((s) => s.to === ClientState.Reconnecting)).toHaveLength(20);
    expect(server.server.stats().delivered.replay).toBeGreaterThan(0);
  });

  it('offsets the server skips on replay (relevance rules) move the position; no gap is asked for', async () => {
    const server = await bed.start({ relevance: { typing: { ttl: 1 } } });
    const types = ['chat', 'typing', 'typing', 'chat', 'typing', 'chat'];
    await server.server.publishMany(types.map((type, i) => ({ channel: 'room:s', type, data: i + 1 })));
    await sleep(20); // the typing indicators are stale now: replay skips them
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['room:*'] }),
      ...fast,
    });
    const recorder = new Recorder();
    const sub = client.subscribe('room:s', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    await waitUntil(() => (sub.position?.offset === 6 ? true : undefined));
    // Live messages after the skipped offsets follow on without a gap. (They are chat: a 1 ms-ttl
    // typing indicator may expire in transit on a loaded machine, and the SDK rightly drops it.)
    await server.server.publishMany([
      { channel: 'room:s', type: 'chat', data: 7 },
      { channel: 'room:s', type: 'chat', data: 8 },
    ]);
    await waitUntil(() => (recorder.handled.length === 5 ? true : undefined));
    await sleep(100);
    expect(recorder.offsets()).toEqual([1, 4, 6, 7, 8]);
    expect(client.metrics().gapsRequested).toBe(0);
    expect(server.server.stats().dropped.ttl).toBe(3);
  });
});
