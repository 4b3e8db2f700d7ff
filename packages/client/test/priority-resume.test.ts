/**
 * Priority on resume (docs/protocol.md §5, "Priority"): a client resuming with a backlog on several
 * channels gets the channel with the highest priority pending first; order within each channel
 * never changes. And `history()` through the SDK pages back through a channel with typed messages.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testing';
import type { Message } from '@tether/client';
import { useFaultBed, Recorder, fast, range } from './helpers.js';

const faults = useFaultBed();
const { bed, clients } = faults;

/** The channels in the order their first message was handled, and whether each channel's run was unbroken. */
function runsOf(handled: readonly Message[]): string[] {
  const runs: string[] = [];
  for (const message of handled) if (runs.at(-1) !== message.channel) runs.push(message.channel);
  return runs;
}

describe('resume replays channels highest priority first', () => {
  it('a backlog on a low chat channel, a normal and a high trip channel: trip, then news, then chat, each in order', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'driver-1', channels: ['chat:*', 'trip:*', 'news:*'] });
    // Published while the driver was away; chat has the biggest backlog and is subscribed first.
    await server.server.publishMany(
      range(1, 300).map((n) => ({ channel: 'chat:1', type: 'chat:line', data: n, priority: 'low' as const })),
    );
    await server.server.publishMany(range(1, 20).map((n) => ({ channel: 'news:1', type: 'news', data: n })));
    await server.server.publishMany(
      range(1, 10).map((n) => ({
        channel: 'trip:9',
        type: 'trip:update',
        data: n,
        // One high message makes the whole channel high; its order does not change.
        ...(n === 6 ? { priority: 'high' as const } : {}),
      })),
    );

    const client = clients.make({ url: server.url, token, ...fast });
    const recorder = new Recorder();
    client.subscribe('chat:1', recorder.handler, { since: { offset: 0 } });
    client.subscribe('news:1', recorder.handler, { since: { offset: 0 } });
    client.subscribe('trip:9', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    await waitUntil(() => (recorder.handled.length === 330 ? true : undefined));

    expect(runsOf(recorder.handled)).toEqual(['trip:9', 'news:1', 'chat:1']);
    expect(recorder.offsets('trip:9')).toEqual(range(1, 10));
    expect(recorder.offsets('news:1')).toEqual(range(1, 20));
    expect(recorder.offsets('chat:1')).toEqual(range(1, 300));
    expect(recorder.handled.find((m) => m.offset === 6 && m.channel === 'trip:9')?.priority).toBe('high');
    // `normal` is the default and stays off the wire.
    expect(recorder.handled.find((m) => m.channel === 'news:1')).not.toHaveProperty('priority');
  });

  it('in HTTP fallback too: the poll answers the high channel first, each channel in order', async () => {
    const server = await bed.start();
    const proxy = await faults.proxyTo(server);
    proxy.blockPath('/socket.io/'); // no socket at all: the SDK polls from the start
    const token = await server.token({ sub: 'driver-2', channels: ['chat:*', 'trip:*'] });
    await server.server.publishMany(
      range(1, 50).map((n) => ({ channel: 'chat:2', type: 'chat:line', data: n, priority: 'low' as const })),
    );
    await server.server.publishMany(
      range(1, 5).map((n) => ({ channel: 'trip:2', type: 'trip:update', data: n, priority: 'high' as const })),
    );
    const client = clients.make({
      url: proxy.url,
      token,
      ...fast,
      fallback: { enabled: true, afterAttempts: 1, afterMs: 200, pollWaitSeconds: 1, pollIntervalMs: 100 },
    });
    const recorder = new Recorder();
    client.subscribe('chat:2', recorder.handler, { since: { offset: 0 } });
    client.subscribe('trip:2', recorder.handler, { since: { offset: 0 } });
    void client.connect();
    await waitUntil(() => (recorder.handled.length === 55 ? true : undefined), 8000, 'polled');
    expect(client.status).toBe('fallback');
    expect(runsOf(recorder.handled)).toEqual(['trip:2', 'chat:2']);
    expect(recorder.offsets('trip:2')).toEqual(range(1, 5));
    expect(recorder.offsets('chat:2')).toEqual(range(1, 50));
  });

  it('a publish with priority from the SDK is stored with it', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'rider-1', channels: ['trip:*'], publish: ['trip:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    const recorder = new Recorder();
    client.subscribe('trip:2', recorder.handler);
    await client.connect();
    await client.publish('trip:2', 'trip:requested', { from: 'A' }, { priority: 'high' });
    await client.publish('trip:2', 'trip:note', 'n', { priority: 'normal' });
    await waitUntil(() => (recorder.handled.length === 2 ? true : undefined));
    expect(recorder.handled.map((m) => m.priority)).toEqual(['high', undefined]);
    await expect(client.publish('trip:2', 't', 1, { priority: 'urgent' as unknown as 'high' })).rejects.toMatchObject({
      code: 'bad_request',
    });
  });
});

describe('history through the SDK', () => {
  type FeedEvents = { note: { n: number } };

  it('sub.history() and client.history() page back newest first until next is null, typed', async () => {
    const server = await bed.start({ maxHistoryLimit: 4 });
    const token = await server.token({ sub: 'u1', channels: ['feed:*'] });
    await server.server.publishMany(range(1, 10).map((n) => ({ channel: 'feed:x', type: 'note', data: { n } })));
    const client = clients.make({ url: server.url, token, ...fast });
    const sub = client.subscribe<FeedEvents>('feed:x', () => undefined);

    const seen: number[] = [];
    let page = await sub.history<FeedEvents>();
    for (;;) {
      for (const message of page.messages) seen.push(message.data.n); // typed: data is { n: number }
      if (page.next === null) break;
      page = await sub.history<FeedEvents>({ before: page.next });
    }
    expect(seen).toEqual(range(1, 10).reverse());
    expect(page.channel).toBe('feed:x');

    const two = await client.history('feed:x', { limit: 2, before: 5 });
    expect(two.messages.map((m) => [m.channel, m.offset])).toEqual([
      ['feed:x', 4],
      ['feed:x', 3],
    ]);
    expect(two.next).toBe(3);
    // History reads; it does not move the subscription.
    expect(sub.position).toBeUndefined();
  });

  it('refusals come back as TetherErrors with their code; bad arguments are refused before any request', async () => {
    const server = await bed.start({ maxHistoryLimit: 4 });
    const token = await server.token({ sub: 'u1', channels: ['feed:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    await expect(client.history('room:1')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(client.history('feed:x', { limit: 5 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.history('feed:x', { before: 0 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.history('feed:x', { limit: 1.5 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.history('bad name')).rejects.toMatchObject({ code: 'invalid_channel' });
  });
});
