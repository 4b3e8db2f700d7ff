/**
 * A channel that was never written has no epoch yet: the server answers the unwritten epoch at
 * offset 0 and stores nothing. The SDK subscribed to it must receive the first messages published
 * to it once, in order, with no resync — live over the socket, after a reconnect, and over the
 * HTTP fallback alone.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testing';
import { ClientState } from '@tether/client';
import { UNWRITTEN_EPOCH, type Message } from '@tether/protocol';
import { MemoryLogStore } from '@tether/server';
import { useFaultBed, Recorder, dropConnections, fast, range, sleep } from './helpers.js';

const faults = useFaultBed();
const { bed, clients } = faults;

const publish = (from: number, to: number, channel = 'feed:new') =>
  bed.server.server.publishMany(range(from, to).map((n) => ({ channel, type: 't', data: n })));

function expectOnceInOrder(recorder: Recorder, count: number): void {
  expect(recorder.offsets('feed:new')).toEqual(range(1, count));
  expect(recorder.handled.map((m: Message) => m.data)).toEqual(range(1, count));
}

describe('a never-written channel, SDK', () => {
  it('over the socket: the first messages arrive once, in order, no resync; nothing stored before them', async () => {
    const store = new MemoryLogStore();
    const server = await bed.start({ store });
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u', channels: ['feed:*'] }),
      ...fast,
    });
    const resyncs: unknown[] = [];
    client.on('resync', (r) => resyncs.push(r));
    const recorder = new Recorder();
    const sub = client.subscribe('feed:new', recorder.handler);
    await client.connect();
    await waitUntil(() => (sub.position?.epoch === UNWRITTEN_EPOCH ? true : undefined), 3000, 'unwritten position');
    expect(sub.position).toEqual({ epoch: UNWRITTEN_EPOCH, offset: 0 });
    expect(store.streamCount).toBe(0);

    await publish(1, 5);
    await publish(6, 12);
    await waitUntil(() => (recorder.handled.length >= 12 ? true : undefined), 5000, 'first messages');
    await sleep(200);
    expectOnceInOrder(recorder, 12);
    expect(resyncs).toEqual([]);
    expect(client.metrics().resyncs).toBe(0);
    expect(sub.position?.epoch).not.toBe(UNWRITTEN_EPOCH);
    expect(server.server.stats().resyncs).toBe(0);
  });

  it('published while the client was away: resumed from the unwritten position, from offset 1, no resync', async () => {
    const server = await bed.start({ store: new MemoryLogStore() });
    const client = clients.make({
      url: server.url,
      token: await server.token({ sub: 'u', channels: ['feed:*'] }),
      ...fast,
    });
    const resyncs: unknown[] = [];
    client.on('resync', (r) => resyncs.push(r));
    const recorder = new Recorder();
    const sub = client.subscribe('feed:new', recorder.handler);
    await client.connect();
    await waitUntil(() => (sub.position?.epoch === UNWRITTEN_EPOCH ? true : undefined), 3000, 'unwritten position');
    dropConnections(server);
    await publish(1, 8);
    await waitUntil(() => (recorder.handled.length >= 8 ? true : undefined), 5000, 'resumed');
    await publish(9, 10);
    await waitUntil(() => (recorder.handled.length >= 10 ? true : undefined), 5000, 'live again');
    await sleep(200);
    expectOnceInOrder(recorder, 10);
    expect(resyncs).toEqual([]);
  });

  it('over the HTTP fallback alone: the first messages arrive once, in order, no resync', async () => {
    const store = new MemoryLogStore();
    const server = await bed.start({ store });
    const proxy = await faults.proxyTo(server);
    proxy.blockPath('/socket.io/'); // no socket at all: every message comes over POST /v1/poll
    const client = clients.make({
      url: proxy.url,
      token: await server.token({ sub: 'u', channels: ['feed:*'] }),
      ...fast,
      fallback: { enabled: true, afterAttempts: 1, afterMs: 200, pollWaitSeconds: 2, pollIntervalMs: 100 },
    });
    const resyncs: unknown[] = [];
    client.on('resync', (r) => resyncs.push(r));
    const recorder = new Recorder();
    const sub = client.subscribe('feed:new', recorder.handler);
    void client.connect().catch(() => undefined);
    await waitUntil(() => (client.status === ClientState.Fallback ? true : undefined), 5000, 'fallback');
    await waitUntil(() => (sub.position?.epoch === UNWRITTEN_EPOCH ? true : undefined), 5000, 'unwritten position');
    expect(store.streamCount).toBe(0);

    await publish(1, 5);
    await waitUntil(() => (recorder.handled.length >= 5 ? true : undefined), 5000, 'first poll');
    await publish(6, 9);
    await waitUntil(() => (recorder.handled.length >= 9 ? true : undefined), 5000, 'second poll');
    await sleep(300);
    expectOnceInOrder(recorder, 9);
    expect(resyncs).toEqual([]);
    expect(client.metrics().resyncs).toBe(0);
    expect(server.server.stats().delivered.http).toBeGreaterThanOrEqual(9);
    expect(server.server.stats().resyncs).toBe(0);
  });
});
