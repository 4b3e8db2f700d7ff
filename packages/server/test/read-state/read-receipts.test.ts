/**
 * Typing, read receipts and unread counts on a real server with real socket.io clients
 * (docs/presence.md): who gets which notice, what is stored (read positions) and what never is
 * (typing), refusals that change nothing, and counts over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReadNotice, Reply, TypingNotice, UnreadReply } from '@tether/protocol';
import { connectClient, isErrorReply, startServer, waitUntil, type TestClient, type TestServer } from '@tether/testing';

let srv: TestServer;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await srv?.close();
});

const ROOM = 'room:a';

async function client(sub: string, channels = ['room:*']): Promise<TestClient> {
  const c = await connectClient(srv.url, await srv.token({ sub, channels, publish: ['room:*'] }));
  clients.push(c);
  return c;
}

/** The `event` frames a socket receives from now on. */
function heard<T>(c: TestClient, event: 'typing' | 'read'): T[] {
  const got: T[] = [];
  c.socket.on(event, (frame: unknown) => got.push(frame as T));
  return got;
}

function request<T>(c: TestClient, event: string, frame: unknown): Promise<Reply<T>> {
  return new Promise((resolve) =>
    (c.socket.emit as (e: string, f: unknown, r: (v: Reply<T>) => void) => void)(event, frame, resolve),
  );
}

/** A probe round trip: every frame the server sent this socket before it has arrived. */
async function settle(...cs: TestClient[]): Promise<void> {
  await Promise.all(cs.map((c) => request(c, 'probe', { ts: 0 })));
}

async function publish(channel: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await srv.server.publish({ channel, type: 'chat', data: { i } });
}

async function subscribed(c: TestClient, channel: string): Promise<void> {
  expect(isErrorReply(await c.sub(channel))).toBe(false);
}

describe('typing', () => {
  it('reaches the channel’s other sockets (the user’s other device too), not the sender; never stored or replayed', async () => {
    srv = await startServer();
    const alice = await client('alice');
    const alicePhone = await client('alice');
    const bob = await client('bob');
    const outsider = await client('carol');
    for (const c of [alice, alicePhone, bob]) await subscribed(c, ROOM);
    const toAlice = heard<TypingNotice>(alice, 'typing');
    const toPhone = heard<TypingNotice>(alicePhone, 'typing');
    const toBob = heard<TypingNotice>(bob, 'typing');
    const toOutsider = heard<TypingNotice>(outsider, 'typing');

    expect(await request(alice, 'typing', { channel: ROOM })).toEqual({});
    await waitUntil(() => (toBob.length === 1 && toPhone.length === 1 ? true : undefined));
    await settle(alice, outsider);
    expect(toBob).toEqual([{ channel: ROOM, sub: 'alice' }]);
    expect(toPhone).toEqual([{ channel: ROOM, sub: 'alice' }]);
    expect(toAlice).toEqual([]);
    expect(toOutsider).toEqual([]);

    // Not in the log: the head did not move, history is empty, a replay from 0 brings nothing.
    const history = await fetch(`${srv.url}/v1/history?channel=${ROOM}`, {
      headers: { authorization: `Bearer ${await srv.token({ sub: 'alice', channels: ['room:*'] })}` },
    });
    expect(((await history.json()) as { messages: unknown[] }).messages).toEqual([]);
    const late = await client('dave');
    expect(await late.sub(ROOM, { offset: 0 })).toMatchObject({ offset: 0 });
    await settle(late);
    expect(late.messages.offsets(ROOM)).toEqual([]);
  });

  it('is refused outside a subscription (forbidden) and when malformed (bad_request); nothing is sent', async () => {
    srv = await startServer();
    const alice = await client('alice');
    const bob = await client('bob');
    await subscribed(bob, ROOM);
    const toBob = heard<TypingNotice>(bob, 'typing');
    expect(await request(alice, 'typing', { channel: ROOM })).toMatchObject({ error: { code: 'forbidden' } });
    for (const bad of [{}, { channel: 'no/slash' }, { channel: ROOM, extra: 1 }, 'room:a', null]) {
      const reply = await request(alice, 'typing', bad);
      expect(isErrorReply(reply) && reply.error.code).toMatch(/bad_request|invalid_channel/);
    }
    await settle(bob);
    expect(toBob).toEqual([]);
  });

  it('counts toward the event rate limit: typing past it gets rate_limited', async () => {
    srv = await startServer({ limits: { eventsPerMinutePerConnection: 5, maxRefusalsPerConnection: 0 } });
    const alice = await client('alice');
    await subscribed(alice, ROOM); // one event
    const replies: Reply<unknown>[] = [];
    for (let i = 0; i < 8; i++) replies.push(await request(alice, 'typing', { channel: ROOM }));
    const refused = replies.filter((r) => isErrorReply(r) && r.error.code === 'rate_limited');
    expect(replies.slice(0, 4)).toEqual([{}, {}, {}, {}]);
    expect(refused).toHaveLength(4);
  });
});

describe('read receipts', () => {
  it('a mark moves the user’s position: the other members and the user’s other device (not subscribed) hear it once, the sender not', async () => {
    srv = await startServer();
    await publish(ROOM, 5);
    const laptop = await client('alice');
    const phone = await client('alice'); // not subscribed to ROOM: hears it through the inbox room
    const bob = await client('bob');
    const outsider = await client('carol');
    await subscribed(laptop, ROOM);
    await subscribed(bob, ROOM);
    const toLaptop = heard<ReadNotice>(laptop, 'read');
    const toPhone = heard<ReadNotice>(phone, 'read');
    const toBob = heard<ReadNotice>(bob, 'read');
    const toOutsider = heard<ReadNotice>(outsider, 'read');

    expect(await request(laptop, 'read', { channel: ROOM, offset: 3 })).toEqual({ offset: 3 });
    await waitUntil(() => (toPhone.length === 1 && toBob.length === 1 ? true : undefined));
    expect(toPhone).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);
    expect(toBob).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);

    // A lower or equal offset changes nothing and tells nobody.
    expect(await request(phone, 'read', { channel: ROOM, offset: 2 })).toEqual({ offset: 3 });
    expect(await request(phone, 'read', { channel: ROOM, offset: 3 })).toEqual({ offset: 3 });
    // Past the head: capped at the head.
    expect(await request(phone, 'read', { channel: ROOM, offset: 99 })).toEqual({ offset: 5 });
    await waitUntil(() => (toLaptop.length === 1 && toBob.length === 2 ? true : undefined));
    await settle(laptop, phone, bob, outsider);
    expect(toLaptop).toEqual([{ channel: ROOM, sub: 'alice', offset: 5 }]);
    expect(toPhone).toHaveLength(1);
    expect(toBob.map((n) => n.offset)).toEqual([3, 5]);
    expect(toOutsider).toEqual([]);
    expect(await request<UnreadReply>(bob, 'unread', {})).toEqual({ channels: {} });
  });

  it('refuses a forbidden channel and malformed frames; the position stays', async () => {
    srv = await startServer();
    await publish(ROOM, 3);
    await publish('secret:x', 3);
    const alice = await client('alice', ['room:*']);
    expect(await request(alice, 'read', { channel: 'secret:x', offset: 2 })).toMatchObject({
      error: { code: 'forbidden' },
    });
    for (const bad of [
      { channel: ROOM },
      { channel: ROOM, offset: 0 },
      { channel: ROOM, offset: -1 },
      { channel: ROOM, offset: 1.5 },
      { channel: ROOM, offset: '2' },
      { channel: ROOM, offset: 2, more: true },
    ]) {
      const reply = await request(alice, 'read', bad);
      expect(isErrorReply(reply) && reply.error.code).toBe('bad_request');
    }
    expect(await request(alice, 'unread', { channels: [ROOM] })).toEqual({
      channels: { [ROOM]: { head: 3, read: 0, unread: 3 } },
    });
    expect(await request(alice, 'unread', { channels: [ROOM, 'secret:x'] })).toMatchObject({
      error: { code: 'forbidden' },
    });
    expect(await request(alice, 'unread', { channels: 'room:a' })).toMatchObject({ error: { code: 'bad_request' } });
  });
});

describe('unread counts', () => {
  it('are head − read after publishes and reads; without channels, every channel read in that is still allowed', async () => {
    srv = await startServer();
    const alice = await client('alice', ['room:*', 'team:*']);
    await publish('room:a', 4);
    await publish('room:b', 2);
    await publish('team:x', 6);
    expect(await request(alice, 'read', { channel: 'room:a', offset: 1 })).toEqual({ offset: 1 });
    expect(await request(alice, 'read', { channel: 'team:x', offset: 6 })).toEqual({ offset: 6 });
    await publish('room:a', 3);
    await publish('team:x', 1);
    expect(await request(alice, 'unread', {})).toEqual({
      channels: { 'room:a': { head: 7, read: 1, unread: 6 }, 'team:x': { head: 7, read: 6, unread: 1 } },
    });
    expect(await request(alice, 'unread', { channels: ['room:b', 'room:never'] })).toEqual({
      channels: { 'room:b': { head: 2, read: 0, unread: 2 }, 'room:never': { head: 0, read: 0, unread: 0 } },
    });
    // A token that no longer allows team:* leaves it out of the "every channel" answer.
    const narrowed = await client('alice', ['room:*']);
    expect(await request(narrowed, 'unread', {})).toEqual({
      channels: { 'room:a': { head: 7, read: 1, unread: 6 } },
    });
  });

  it('over HTTP: POST /v1/read with the user token; GET /v1/unread with the user token or an API key and sub', async () => {
    srv = await startServer();
    await publish(ROOM, 4);
    const phone = await client('alice'); // hears the HTTP mark through the inbox room
    const toPhone = heard<ReadNotice>(phone, 'read');
    const token = await srv.token({ sub: 'alice', channels: ['room:*'] });
    const post = (body: unknown, bearer = token): Promise<Response> =>
      fetch(`${srv.url}/v1/read`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const get = (query: string, bearer = token): Promise<Response> =>
      fetch(`${srv.url}/v1/unread${query}`, { headers: { authorization: `Bearer ${bearer}` } });

    const marked = await post({ channel: ROOM, offset: 3 });
    expect(marked.status).toBe(200);
    expect(await marked.json()).toEqual({ offset: 3 });
    await waitUntil(() => (toPhone.length === 1 ? true : undefined));
    expect(toPhone).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);

    expect((await post({ channel: ROOM, offset: 'x' })).status).toBe(400);
    expect((await post({ channel: 'secret:x', offset: 1 })).status).toBe(403);
    expect((await post({ channel: ROOM, offset: 1 }, 'nope')).status).toBe(401);

    const mine = await get(`?channel=${ROOM}&channel=room:b`);
    expect(await mine.json()).toEqual({
      channels: { [ROOM]: { head: 4, read: 3, unread: 1 }, 'room:b': { head: 0, read: 0, unread: 0 } },
    });
    expect(await (await get('')).json()).toEqual({ channels: { [ROOM]: { head: 4, read: 3, unread: 1 } } });
    expect(await (await get(`?sub=alice&channel=${ROOM}`, srv.apiKey)).json()).toEqual({
      channels: { [ROOM]: { head: 4, read: 3, unread: 1 } },
    });
    expect((await get('?channel=secret:x')).status).toBe(403);
    expect((await get('?channel=no/slash')).status).toBe(400);
    expect((await get('?sub=alice', 'not-a-key')).status).toBe(401);
    expect((await get('?sub=alice&bogus=1', srv.apiKey)).status).toBe(400);
  });

  it('are exact across a server restart on the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-unread-'));
    try {
      const store = `sqlite:${join(dir, 'tether.db')}`;
      srv = await startServer({ store });
      await publish(ROOM, 5);
      const before = await client('alice');
      expect(await request(before, 'read', { channel: ROOM, offset: 2 })).toEqual({ offset: 2 });
      await publish(ROOM, 1);
      const expected = { channels: { [ROOM]: { head: 6, read: 2, unread: 4 } } };
      expect(await request(before, 'unread', {})).toEqual(expected);
      before.close();
      await srv.close();

      srv = await startServer({ store });
      const after = await client('alice');
      expect(await request(after, 'unread', {})).toEqual(expected);
      // Still monotonic after the restart, and publishes keep counting.
      expect(await request(after, 'read', { channel: ROOM, offset: 1 })).toEqual({ offset: 2 });
      await publish(ROOM, 2);
      expect(await request(after, 'unread', { channels: [ROOM] })).toEqual({
        channels: { [ROOM]: { head: 8, read: 2, unread: 6 } },
      });
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
