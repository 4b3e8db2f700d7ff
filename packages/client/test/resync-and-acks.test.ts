/**
 * `resync` reaches the app as an event with the new position (and `onResync` runs before later
 * messages); acks are cumulative, batched across channels, at most one frame per ack interval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import type { ResyncContext } from '@tether/client';
import { Clients, Recorder, fast, range, sleep } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

describe('resync', () => {
  it('a position older than retention: resync event with the new position, onResync awaited, then live messages', async () => {
    const server = await bed.start({ retention: { maxMessages: 10 } });
    await server.server.publishMany(range(1, 50).map((n) => ({ channel: 'feed:r', type: 't', data: n })));
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['feed:*'] }),
      ...fast,
    });
    const events: ResyncContext[] = [];
    client.on('resync', (c) => events.push(c));
    const order: string[] = [];
    const recorder = new Recorder();
    const sub = client.subscribe(
      'feed:r',
      (m) => {
        order.push(`message ${m.offset}`);
        recorder.handler(m);
      },
      {
        since: { offset: 2 },
        onResync: async ({ offset }) => {
          await sleep(50); // the app reloads the channel's state
          order.push(`reloaded at ${offset}`);
        },
      },
    );
    await client.connect();
    await waitUntil(() => (events.length === 1 ? true : undefined));
    await server.server.publish({ channel: 'feed:r', type: 't', data: 51 });
    await waitUntil(() => (recorder.handled.length === 1 ? true : undefined));

    expect(events[0]).toMatchObject({ channel: 'feed:r', offset: 50, previous: { offset: 2 } });
    expect(order).toEqual(['reloaded at 50', 'message 51']);
    expect(sub.position).toMatchObject({ epoch: events[0]!.epoch, offset: 51 });
    expect(client.metrics().resyncs).toBe(1);
  });
});

describe('acks', () => {
  it('are cumulative and batched: one frame per interval at most, every channel that moved in it', async () => {
    const server = await bed.start();
    const frames: { at: number; acks: Record<string, number> }[] = [];
    server.server.io.on('connection', (socket) =>
      socket.on('ack', (frame: { acks: Record<string, number> }) => frames.push({ at: Date.now(), acks: frame.acks })),
    );
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u1', channels: ['a:*', 'b:*'] }),
      ...fast,
      ackIntervalMs: 150,
    });
    const a = new Recorder();
    const b = new Recorder();
    client.subscribe('a:1', a.handler, { since: { offset: 0 } });
    client.subscribe('b:1', b.handler, { since: { offset: 0 } });
    await client.connect();
    const started = Date.now();
    for (let n = 1; n <= 40; n++) {
      await server.server.publishMany([
        { channel: 'a:1', type: 't', data: n },
        { channel: 'b:1', type: 't', data: n },
      ]);
      await sleep(10);
    }
    await waitUntil(() => (a.handled.length === 40 && b.handled.length === 40 ? true : undefined));
    await waitUntil(() => (frames.some((f) => f.acks['a:1'] === 40 && f.acks['b:1'] === 40) ? true : undefined), 2000);
    const elapsed = Date.now() - started;

    // At most one frame per 150 ms (plus the first, sent at once).
    expect(frames.length).toBeLessThanOrEqual(Math.ceil(elapsed / 150) + 2);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.at - frames[i - 1]!.at).toBeGreaterThanOrEqual(140);
    // Both channels share frames, and offsets never go back.
    expect(frames.filter((f) => 'a:1' in f.acks && 'b:1' in f.acks).length).toBeGreaterThan(1);
    for (const channel of ['a:1', 'b:1']) {
      const offsets = frames.map((f) => f.acks[channel]).filter((o): o is number => o !== undefined);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    }
    expect(server.server.stats().acked).toBeGreaterThanOrEqual(80);
  });
});
