/**
 * `GET /v1/history` (docs/protocol.md §8): a channel's log paged backwards, newest first, with the
 * user's token and the same permission as subscribing, on every store engine. Bad input is refused
 * with a clear code and changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryResponse } from '@tether/protocol';
import type { AuthContext, ChannelAction } from '@tether/server';
import { startRedis, startServer, type RedisServer, type TestServer } from '@tether/testing';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Answer {
  status: number;
  body: HistoryResponse & { error?: { code: string; message: string } };
}

async function history(srv: TestServer, token: string | undefined, query: string): Promise<Answer> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(`${srv.url}/v1/history?${query}`, { headers });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const offsetsOf = (answer: Answer): number[] => answer.body.messages.map((m) => m.offset);

let dir = '';
let redis: RedisServer | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tether-history-'));
});
afterAll(async () => {
  await redis?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const engines: [string, () => Promise<string>][] = [
  ['memory', async () => 'memory'],
  ['sqlite', async () => `sqlite:${path.join(dir, `h-${Math.random().toString(36).slice(2)}.db`)}`],
  [
    'redis',
    async () => {
      redis ??= await startRedis();
      return redis.url;
    },
  ],
];

describe.each(engines)('GET /v1/history on %s', (_engine, storeOf) => {
  let srv: TestServer;
  let reader: string;
  beforeAll(async () => {
    srv = await startServer({
      store: await storeOf(),
      retention: { maxMessages: 30 },
      maxHistoryLimit: 10,
      authorize: (_ctx: AuthContext, channel: string, action: ChannelAction) =>
        !(channel === 'feed:closed' && action === 'subscribe'),
    });
    reader = await srv.token({ sub: 'u1', channels: ['feed:*'] });
    // 35 messages: retention keeps 6..35.
    await srv.server.publishMany(range(1, 35).map((n) => ({ channel: 'feed:a', type: 'note', data: { n } })));
    await srv.server.publish({ channel: 'feed:closed', type: 'note', data: 'secret' });
    await srv.server.publish({ tenant: 'other', channel: 'feed:a', type: 'note', data: 'other tenant' });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('pages back through retention, newest first, until next is null', async () => {
    const first = await history(srv, reader, 'channel=feed:a&limit=10');
    expect(first.status).toBe(200);
    expect(offsetsOf(first)).toEqual(range(26, 35).reverse());
    expect(first.body.messages[0]).toMatchObject({ type: 'note', data: { n: 35 } });
    expect(first.body.next).toBe(26);
    expect(first.body.channel).toBe('feed:a');
    const epoch = first.body.epoch;

    const pages = [first];
    let next = first.body.next;
    while (next !== null) {
      const page = await history(srv, reader, `channel=feed:a&limit=10&before=${next}`);
      expect(page.status).toBe(200);
      expect(page.body.epoch).toBe(epoch);
      pages.push(page);
      next = page.body.next;
    }
    // Retention's start is 6: three pages, the last one short, every retained offset once.
    expect(pages.map(offsetsOf)).toEqual([range(26, 35).reverse(), range(16, 25).reverse(), range(6, 15).reverse()]);
    expect(pages.at(-1)!.body.next).toBeNull();
  });

  it('defaults limit to maxHistoryLimit, clamps a before past the head, and answers an empty channel', async () => {
    expect(offsetsOf(await history(srv, reader, 'channel=feed:a'))).toEqual(range(26, 35).reverse());
    expect(offsetsOf(await history(srv, reader, 'channel=feed:a&before=999&limit=2'))).toEqual([35, 34]);
    const below = await history(srv, reader, 'channel=feed:a&before=3');
    expect(below.body).toMatchObject({ messages: [], next: null });
    const empty = await history(srv, reader, 'channel=feed:never');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ channel: 'feed:never', messages: [], next: null });
  });

  it('refuses what subscribe refuses: claims, the authorize hook, no token', async () => {
    const outsider = await history(srv, reader, 'channel=room:1');
    expect(outsider.status).toBe(403);
    expect(outsider.body.error?.code).toBe('forbidden');
    const hooked = await history(srv, reader, 'channel=feed:closed');
    expect(hooked.status).toBe(403);
    expect(hooked.body.error?.code).toBe('forbidden');
    const anonymous = await history(srv, undefined, 'channel=feed:a');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error?.code).toBe('unauthorized');
    // The inbox is the user's own, as for subscribe; another user's inbox is not.
    expect((await history(srv, reader, 'channel=user:u1')).status).toBe(200);
    expect((await history(srv, reader, 'channel=user:u2')).body.error?.code).toBe('forbidden');
  });

  it("reads the token's tenant only: another tenant's channel of the same name is never shown", async () => {
    const mine = await history(
      srv,
      await srv.token({ sub: 'u9', tenant: 'other', channels: ['feed:*'] }),
      'channel=feed:a',
    );
    expect(mine.body.messages.map((m) => m.data)).toEqual(['other tenant']);
    const third = await history(
      srv,
      await srv.token({ sub: 'u9', tenant: 'third', channels: ['feed:*'] }),
      'channel=feed:a',
    );
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ messages: [], next: null });
  });

  it('refuses a bad before, limit or channel with a clear code, and nothing changes', async () => {
    const before = await srv.server.publish({ channel: 'feed:b', type: 'note', data: 1 });
    const cases: [string, string, RegExp][] = [
      ['channel=feed:b&before=0', 'bad_request', /before/],
      ['channel=feed:b&before=-1', 'bad_request', /before/],
      ['channel=feed:b&before=abc', 'bad_request', /before/],
      ['channel=feed:b&before=1e3', 'bad_request', /before/],
      ['channel=feed:b&before=99999999999999999', 'bad_request', /before/],
      ['channel=feed:b&limit=0', 'bad_request', /limit/],
      ['channel=feed:b&limit=1.5', 'bad_request', /limit/],
      ['channel=feed:b&limit=11', 'bad_request', /at most 10/],
      ['channel=feed:b&limit=2&limit=3', 'bad_request', /limit/],
      ['channel=feed:b&after=1', 'bad_request', /after/],
      ['before=5', 'bad_request', /channel/],
      ['channel=bad%20name', 'invalid_channel', /channel/],
    ];
    for (const [query, code, message] of cases) {
      const answer = await history(srv, reader, query);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error?.code, query).toBe(code);
      expect(answer.body.error?.message, query).toMatch(message);
    }
    const after = await srv.server.publish({ channel: 'feed:b', type: 'note', data: 2 });
    expect(after.offset).toBe(before.offset + 1);
    expect(offsetsOf(await history(srv, reader, 'channel=feed:b'))).toEqual([2, 1]);
  });
});

describe('GET /v1/history answer size', () => {
  it('is bounded by maxBatchBytes like a poll answer (the newest message always comes), and next continues from it', async () => {
    const srv = await startServer({ maxBatchBytes: 2_000, maxQueuedBytes: 8_000 });
    try {
      const token = await srv.token({ sub: 'u1', channels: ['feed:*'] });
      await srv.server.publishMany(
        range(1, 12).map((n) => ({ channel: 'feed:big', type: 't', data: 'x'.repeat(500 + n) })),
      );
      const first = await history(srv, token, 'channel=feed:big&limit=100');
      expect(offsetsOf(first)).toEqual([12, 11, 10]);
      expect(first.body.next).toBe(10);
      const second = await history(srv, token, `channel=feed:big&before=${first.body.next}`);
      expect(offsetsOf(second)).toEqual([9, 8, 7]);

      await srv.server.publish({ channel: 'feed:huge', type: 't', data: 'y'.repeat(5_000) });
      const huge = await history(srv, token, 'channel=feed:huge');
      expect(offsetsOf(huge)).toEqual([1]);
      expect(huge.body.next).toBeNull();
    } finally {
      await srv.close();
    }
  });
});
