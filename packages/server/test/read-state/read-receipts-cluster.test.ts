/**
 * Typing and read notices across a cluster: two nodes on one Redis (store, adapter). A notice made on
 * one node reaches the sockets on the other through the Socket.IO adapter; read positions and unread
 * counts are the same whichever node answers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReadNotice, Reply, TypingNotice, UnreadReply } from '@tether/protocol';
import {
  connectClient,
  isErrorReply,
  startRedis,
  startServer,
  waitUntil,
  type RedisServer,
  type TestClient,
  type TestServer,
} from '@tether/testing';

let redis: RedisServer;
const nodes: TestServer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

const ROOM = 'room:a';

function request<T>(c: TestClient, event: string, frame: unknown): Promise<Reply<T>> {
  return new Promise((resolve) =>
    (c.socket.emit as (e: string, f: unknown, r: (v: Reply<T>) => void) => void)(event, frame, resolve),
  );
}

describe('read receipts and typing in a cluster', () => {
  it('a mark on node A reaches the user’s device and a member on node B; node B counts the same', async () => {
    const jwtSecret = randomBytes(32).toString('base64url');
    const apiKeys = [{ key: `tk_${randomBytes(16).toString('hex')}`, tenant: '*' }];
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ store: redis.url, jwtSecret, apiKeys }));
    const [a, b] = nodes as [TestServer, TestServer];
    const connect = async (node: TestServer, sub: string): Promise<TestClient> => {
      const client = await connectClient(node.url, await node.token({ sub, channels: ['room:*'] }));
      clients.push(client);
      return client;
    };
    const laptop = await connect(a, 'alice');
    const phone = await connect(b, 'alice');
    const bob = await connect(b, 'bob');
    expect(isErrorReply(await laptop.sub(ROOM))).toBe(false);
    expect(isErrorReply(await bob.sub(ROOM))).toBe(false);
    for (let i = 0; i < 4; i++) await a.server.publish({ channel: ROOM, type: 'chat', data: i });
    const toPhone: ReadNotice[] = [];
    const toBob: ReadNotice[] = [];
    const typing: TypingNotice[] = [];
    phone.socket.on('read', (n) => toPhone.push(n));
    bob.socket.on('read', (n) => toBob.push(n));
    bob.socket.on('typing', (n) => typing.push(n));

    expect(await request(laptop, 'read', { channel: ROOM, offset: 3 })).toEqual({ offset: 3 });
    expect(await request(laptop, 'typing', { channel: ROOM })).toEqual({});
    await waitUntil(() => (toPhone.length === 1 && toBob.length === 1 && typing.length === 1 ? true : undefined));
    expect(toPhone).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);
    expect(toBob).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);
    expect(typing).toEqual([{ channel: ROOM, sub: 'alice' }]);

    expect(await request<UnreadReply>(phone, 'unread', {})).toEqual({
      channels: { [ROOM]: { head: 4, read: 3, unread: 1 } },
    });
    // Monotonic across nodes: the phone on B cannot move it back.
    expect(await request(phone, 'read', { channel: ROOM, offset: 1 })).toEqual({ offset: 3 });
  });
});
