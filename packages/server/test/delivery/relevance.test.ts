import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, type TestServer } from '@tether/testing';
import type { RelevanceRules } from '@tether/server';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

/** The server's injected clock (`now`): TTL tests move it instead of sleeping. */
let clockMs = Date.parse('2026-01-01T00:00:00Z');
const now = (): number => clockMs;
const advance = (ms: number): void => {
  clockMs += ms;
};

const tripStatus = new Map<number, string>();

const relevance: RelevanceRules = {
  'driver:location': { ttl: 150 },
  'trip:requested': {
    supersededBy: ['trip:cancelled', 'trip:accepted'],
    isRelevant: (message) => tripStatus.get((message.data as { trip: number }).trip) === 'REQUESTED',
  },
  'order:status': { collapseKey: (message) => `order:${(message.data as { order: number }).order}` },
};

async function replayAll(channel: string): Promise<{ offsets: number[]; upTo: number | undefined; epoch: string }> {
  const c = await bed.connect({ sub: 'u1', channels: ['*'] });
  const reply = await c.sub(channel, { offset: 0 });
  if ('error' in reply) throw new Error(reply.error.message);
  const frames = c.messages.frames.filter((f) => f.channel === channel);
  return {
    offsets: frames.flatMap((f) => f.messages.map((m) => m.offset)),
    upTo: frames.at(-1)?.upTo,
    epoch: reply.epoch,
  };
}

async function poll(channel: string, offset: number): Promise<{ messages: { offset: number }[]; upTo: number }> {
  const token = await server.token({ sub: 'u1', channels: ['*'] });
  const response = await fetch(`${server.url}/v1/poll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ positions: { [channel]: { offset } } }),
  });
  const body = (await response.json()) as {
    channels: Record<string, { messages: { offset: number }[]; upTo: number }>;
  };
  return body.channels[channel]!;
}

describe('relevance rules on replay, HTTP reads and live', () => {
  it('drops expired messages (rule ttl and the message own ttl) and counts them', async () => {
    server = await bed.start({ relevance, now });
    await server.server.publish({ channel: 'trip:1', type: 'driver:location', data: { lat: 1 } });
    await server.server.publish({ channel: 'trip:1', type: 'chat', data: 'hi', ttl: 100 });
    await server.server.publish({ channel: 'trip:1', type: 'chat', data: 'kept' });
    advance(100); // the message's own 100 ms: still relevant at exactly its expiry
    expect((await poll('trip:1', 0)).messages.map((m) => m.offset)).toEqual([1, 2, 3]);
    advance(51); // past the rule's 150 ms too
    await server.server.publish({ channel: 'trip:1', type: 'driver:location', data: { lat: 2 } });
    const replay = await replayAll('trip:1');
    expect(replay.offsets).toEqual([3, 4]);
    expect(replay.upTo).toBe(4);
    expect(server.server.stats().dropped.ttl).toBe(2);
  });

  it('drops superseded messages', async () => {
    server = await bed.start({ relevance });
    tripStatus.set(7, 'REQUESTED');
    await server.server.publish({ channel: 'user:d', type: 'trip:requested', data: { trip: 7 } });
    await server.server.publish({ channel: 'user:d', type: 'trip:cancelled', data: { trip: 7 } });
    await server.server.publish({ channel: 'user:d', type: 'trip:requested', data: { trip: 7 } });
    const replay = await replayAll('user:d');
    expect(replay.offsets).toEqual([2, 3]);
    expect(server.server.stats().dropped.superseded).toBe(1);
  });

  it('keeps only the latest message per collapse key (rule-derived and the message own key)', async () => {
    server = await bed.start({ relevance });
    await server.server.publish({ channel: 'store:1', type: 'order:status', data: { order: 1, s: 'new' } });
    await server.server.publish({ channel: 'store:1', type: 'order:status', data: { order: 2, s: 'new' } });
    await server.server.publish({ channel: 'store:1', type: 'order:status', data: { order: 1, s: 'paid' } });
    await server.server.publish({ channel: 'store:1', type: 'typing', data: 1, collapseKey: 'typing:ana' });
    await server.server.publish({ channel: 'store:1', type: 'typing', data: 2, collapseKey: 'typing:ana' });
    const replay = await replayAll('store:1');
    expect(replay.offsets).toEqual([2, 3, 5]);
    expect(server.server.stats().dropped.collapsed).toBe(2);
  });

  it('asks the isRelevant hook and counts what it rejects; a throwing hook keeps the message', async () => {
    server = await bed.start({
      relevance: {
        ...relevance,
        flaky: {
          isRelevant: () => {
            throw new Error('db down');
          },
        },
      },
    });
    tripStatus.set(8, 'ASSIGNED');
    tripStatus.set(9, 'REQUESTED');
    await server.server.publish({ channel: 'user:e', type: 'trip:requested', data: { trip: 8 } });
    await server.server.publish({ channel: 'user:e', type: 'trip:requested', data: { trip: 9 } });
    await server.server.publish({ channel: 'user:e', type: 'flaky', data: {} });
    const replay = await replayAll('user:e');
    expect(replay.offsets).toEqual([2, 3]);
    expect(replay.upTo).toBe(3);
    expect(server.server.stats().dropped.irrelevant).toBe(1);
  });

  it('moves the position past dropped offsets even when nothing is left to send', async () => {
    server = await bed.start({ relevance, now });
    await server.server.publish({ channel: 'trip:2', type: 'driver:location', data: {}, ttl: 1 });
    await server.server.publish({ channel: 'trip:2', type: 'driver:location', data: {}, ttl: 1 });
    advance(2);
    const replay = await replayAll('trip:2');
    expect(replay.offsets).toEqual([]);
    expect(replay.upTo).toBe(2);
  });

  it('HTTP poll applies the same rules as the socket replay', async () => {
    server = await bed.start({ relevance, now });
    await server.server.publish({ channel: 'store:2', type: 'order:status', data: { order: 1, s: 'new' } });
    await server.server.publish({ channel: 'store:2', type: 'order:status', data: { order: 1, s: 'paid' } });
    await server.server.publish({ channel: 'store:2', type: 'note', data: 'x', ttl: 1 });
    await server.server.publish({ channel: 'store:2', type: 'note', data: 'y' });
    advance(2);
    const polled = await poll('store:2', 0);
    const replay = await replayAll('store:2');
    expect(polled.messages.map((m) => m.offset)).toEqual(replay.offsets);
    expect(polled.messages.map((m) => m.offset)).toEqual([2, 4]);
    expect(polled.upTo).toBe(4);
  });

  it('a `null` position in an HTTP poll answers where now is, without a resync', async () => {
    server = await bed.start({ relevance });
    for (let i = 0; i < 3; i++) await server.server.publish({ channel: 'store:9', type: 'note', data: i });
    const token = await server.token({ sub: 'u1', channels: ['*'] });
    const response = await fetch(`${server.url}/v1/poll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ positions: { 'store:9': null } }),
    });
    const body = (await response.json()) as { channels: Record<string, unknown> };
    expect(body.channels['store:9']).toEqual({ epoch: expect.any(String), messages: [], upTo: 3 });
    expect(server.server.stats().resyncs).toBe(0);
  });

  it('live: separate publishes each go out (a later one cannot unsend an earlier one)', async () => {
    server = await bed.start({ relevance });
    const c = await bed.connect({ sub: 'u1', channels: ['*'] });
    await c.sub('store:3');
    await server.server.publish({ channel: 'store:3', type: 'order:status', data: { order: 1 } });
    await server.server.publish({ channel: 'store:3', type: 'order:status', data: { order: 1 } });
    await c.messages.waitForCount(2);
    expect(server.server.stats().dropped.collapsed).toBe(0);
  });
});
