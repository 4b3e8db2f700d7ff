/**
 * Priority in HTTP poll answers (docs/protocol.md §5, "Priority"): the answer's byte budget is spent
 * on the channel with the highest priority pending first, and its channels come in that order;
 * order within a channel never changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PollChannelMessages, PollResponse } from '@tether/protocol';
import { startServer, type TestServer } from '@tether/testing';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function poll(server: TestServer, token: string, positions: Record<string, unknown>): Promise<PollResponse> {
  const response = await fetch(`${server.url}/v1/poll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ positions }),
  });
  expect(response.status).toBe(200);
  // JSON keeps the server's key order: the order the channels were read in.
  return (await response.json()) as PollResponse;
}

const offsetsIn = (answer: PollResponse, channel: string): number[] =>
  ((answer.channels[channel] as PollChannelMessages | undefined)?.messages ?? []).map((m) => m.offset);

async function publishBacklog(server: TestServer, bytes: number): Promise<void> {
  const data = 'x'.repeat(bytes);
  await server.server.publishMany(
    range(1, 40).map(() => ({ channel: 'chat:1', type: 'chat:line', data, priority: 'low' as const })),
  );
  await server.server.publishMany(range(1, 10).map(() => ({ channel: 'news:1', type: 'news', data })));
  await server.server.publishMany(
    range(1, 10).map((n) => ({
      channel: 'trip:9',
      type: 'trip:update',
      data,
      ...(n === 10 ? { priority: 'high' as const } : {}),
    })),
  );
}

// The peek ranks from the channel's ring of recent messages when it holds the backlog, else from the
// store (a ring of one message holds none of it): the answers must not differ.
describe.each([
  { peek: 'the ring', ring: {} },
  { peek: 'the store', ring: { recentPerChannel: 1 } },
])('POST /v1/poll with a backlog on channels of different priority, peeked from $peek', ({ ring }) => {
  it('answers the high channel first, then normal, then low, each channel in offset order', async () => {
    srv = await startServer(ring);
    const token = await srv.token({ sub: 'driver-1', channels: ['chat:*', 'trip:*', 'news:*'] });
    await publishBacklog(srv, 10);
    const answer = await poll(srv, token, {
      'chat:1': { offset: 0 },
      'news:1': { offset: 0 },
      'trip:9': { offset: 0 },
    });
    const withMessages = Object.keys(answer.channels).filter((c) => offsetsIn(answer, c).length > 0);
    expect(withMessages).toEqual(['trip:9', 'news:1', 'chat:1']);
    expect(offsetsIn(answer, 'trip:9')).toEqual(range(1, 10));
    expect(offsetsIn(answer, 'news:1')).toEqual(range(1, 10));
    expect(offsetsIn(answer, 'chat:1')).toEqual(range(1, 40));
  });

  it('spends a small byte budget on the high channel first: the low one waits for the next poll', async () => {
    // About 15 messages of ~150 bytes fit: trip's 10, then news gets the rest, chat nothing.
    srv = await startServer({ ...ring, maxBatchBytes: 2_300, maxQueuedBytes: 8_192 });
    const token = await srv.token({ sub: 'driver-1', channels: ['chat:*', 'trip:*', 'news:*'] });
    await publishBacklog(srv, 100);
    const positions = { 'chat:1': { offset: 0 }, 'news:1': { offset: 0 }, 'trip:9': { offset: 0 } };
    const first = await poll(srv, token, positions);
    expect(offsetsIn(first, 'trip:9')).toEqual(range(1, 10));
    expect(offsetsIn(first, 'news:1').length).toBeGreaterThan(0);
    expect(offsetsIn(first, 'news:1').length).toBeLessThan(10);
    expect(offsetsIn(first, 'chat:1')).toEqual([]);

    // Trip handled: the next poll carries on with news (normal), then chat (low) as room allows.
    const news = first.channels['news:1'] as PollChannelMessages;
    const second = await poll(srv, token, {
      'chat:1': { offset: 0 },
      'news:1': { epoch: news.epoch, offset: news.upTo },
      'trip:9': { epoch: (first.channels['trip:9'] as PollChannelMessages).epoch, offset: 10 },
    });
    expect(offsetsIn(second, 'news:1')).toEqual(range(news.upTo + 1, 10));
    expect(offsetsIn(second, 'chat:1')[0]).toBe(1);
    expect(offsetsIn(second, 'trip:9')).toEqual([]);
  });

  it('ranks a channel by its next priorityLookahead pending messages: a high one deeper down does not count', async () => {
    srv = await startServer({ ...ring, priorityLookahead: 5 });
    const token = await srv.token({ sub: 'driver-1', channels: ['chat:*', 'news:*'] });
    await srv.server.publishMany([
      ...range(1, 8).map(() => ({ channel: 'chat:1', type: 'chat:line', data: 1, priority: 'low' as const })),
      { channel: 'chat:1', type: 'chat:line', data: 2, priority: 'high' as const },
      { channel: 'news:1', type: 'news', data: 3 },
    ]);
    const far = await poll(srv, token, { 'chat:1': { offset: 0 }, 'news:1': { offset: 0 } });
    expect(Object.keys(far.channels).filter((c) => offsetsIn(far, c).length > 0)).toEqual(['news:1', 'chat:1']);
    // From offset 4 the high message is within the next 5: chat goes first.
    const near = await poll(srv, token, { 'chat:1': { offset: 4 }, 'news:1': { offset: 0 } });
    expect(Object.keys(near.channels).filter((c) => offsetsIn(near, c).length > 0)).toEqual(['chat:1', 'news:1']);
    expect(offsetsIn(near, 'chat:1')).toEqual(range(5, 9));
  });
});
