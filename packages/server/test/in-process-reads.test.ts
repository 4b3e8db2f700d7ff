/**
 * The app process's own reads (`server.history`, `server.userPresence`, `server.channelPresence`):
 * the same answers as the HTTP reads, per tenant, without a token; bad input refused with a stable
 * code; presence reads `not_found` where presence is off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { startServer, waitUntil, type TestServer } from '@tether/testing';
import { presenceClient, type PresenceClient } from './presence/presence-helpers.js';

const ANY_TENANT_KEY = 'tk_in_process_any_tenant_0123456789';

let srv: TestServer;
const clients: PresenceClient[] = [];

beforeAll(async () => {
  srv = await startServer({
    apiKeys: [{ key: ANY_TENANT_KEY, tenant: '*' }],
    maxHistoryLimit: 10,
    relevance: { 'rider:location': { collapseKey: 'riderId' } },
    presence: { channels: [{ pattern: 'room:*' }, { pattern: 'hall:*', mode: 'counts' }], graceMs: 100, batchMs: 10 },
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await srv.close();
});

async function httpGet(path: string, credential: string): Promise<unknown> {
  const res = await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${credential}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** The TetherError code a rejected read carries. */
async function codeOf(read: Promise<unknown>): Promise<string> {
  const err: unknown = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TetherError);
  return (err as TetherError).code;
}

describe('server.history', () => {
  beforeAll(async () => {
    for (let n = 1; n <= 5; n++) await srv.server.publish({ channel: 'feed:a', type: 'news', data: { n } });
    await srv.server.publish({ tenant: 'acme', channel: 'feed:a', type: 'news', data: { n: 'acme' } });
  });

  it('pages a channel backwards, newest first, and matches GET /v1/history', async () => {
    const first = await srv.server.history('feed:a', { limit: 2 });
    expect(first.messages.map((m) => m.offset)).toEqual([5, 4]);
    expect(first.next).toBe(4);
    const second = await srv.server.history('feed:a', { limit: 2, before: first.next ?? 0 });
    expect(second.messages.map((m) => m.data)).toEqual([{ n: 3 }, { n: 2 }]);
    const token = await srv.token({ sub: 'reader', channels: ['feed:*'] });
    expect(await httpGet('/v1/history?channel=feed:a&limit=2', token)).toEqual(
      JSON.parse(JSON.stringify(first)) as unknown,
    );
    // Default limit: maxHistoryLimit (10), so all five; the last page says there is nothing older.
    const all = await srv.server.history('feed:a');
    expect(all.messages).toHaveLength(5);
    expect(all.next).toBeNull();
  });

  it("reads the tenant it is given, and only that tenant's log", async () => {
    const acme = await srv.server.history('feed:a', { tenant: 'acme' });
    expect(acme.messages.map((m) => m.data)).toEqual([{ n: 'acme' }]);
    expect((await srv.server.history('feed:a', { tenant: 'globex' })).messages).toEqual([]);
  });

  it('relevant: true leaves out what a later message collapsed', async () => {
    for (const n of [1, 2, 3])
      await srv.server.publish({ channel: 'trip:9', type: 'rider:location', data: { riderId: 'R1', n } });
    expect((await srv.server.history('trip:9')).messages.map((m) => m.data)).toHaveLength(3);
    const relevant = await srv.server.history('trip:9', { relevant: true });
    expect(relevant.messages.map((m) => m.data)).toEqual([{ riderId: 'R1', n: 3 }]);
  });

  it('refuses bad options before reading: limit over maxHistoryLimit, a bad channel or tenant, an unknown option', async () => {
    expect(await codeOf(srv.server.history('feed:a', { limit: 11 }))).toBe('bad_request');
    expect(await codeOf(srv.server.history('feed:a', { limit: 0 }))).toBe('bad_request');
    expect(await codeOf(srv.server.history('feed:a', { before: 1.5 }))).toBe('bad_request');
    expect(await codeOf(srv.server.history('no spaces allowed'))).toBe('invalid_channel');
    expect(await codeOf(srv.server.history('feed:a', { tenant: 'Not A Tenant!' }))).toBe('invalid_channel');
    const unknownOption = { limit: 1, newest: true } as { limit: number };
    expect(await codeOf(srv.server.history('feed:a', unknownOption))).toBe('bad_request');
  });
});

describe('server.userPresence and server.channelPresence', () => {
  beforeAll(async () => {
    const ann = await presenceClient(srv, { sub: 'ann', channels: ['room:*', 'hall:*'] });
    clients.push(ann);
    await ann.sub('room:1');
    await ann.sub('hall:1');
    await ann.status({ status: 'busy' });
  });

  it("a user's status, devices and lastSeen, as GET /v1/presence/users/{sub} answers", async () => {
    const ann = await waitUntil(
      async () => {
        const answer = await srv.server.userPresence('ann');
        return answer.status === 'busy' ? answer : undefined;
      },
      5000,
      'ann busy',
    );
    expect(ann.devices).toHaveLength(1);
    expect(ann.devices[0]?.status).toBe('busy');
    expect(await httpGet('/v1/presence/users/ann', ANY_TENANT_KEY)).toEqual(ann);
    expect(await srv.server.userPresence('nobody')).toEqual({
      sub: 'nobody',
      status: 'offline',
      devices: [],
      lastSeen: null,
    });
    // Another tenant's ann is someone else.
    expect((await srv.server.userPresence('ann', { tenant: 'acme' })).status).toBe('offline');
  });

  it("a channel's members, or only the count on a counts-only channel", async () => {
    const room = await waitUntil(
      async () => {
        const answer = await srv.server.channelPresence('room:1');
        return answer.count === 1 ? answer : undefined;
      },
      5000,
      'ann in room:1',
    );
    expect(room.members?.map((m) => [m.sub, m.status])).toEqual([['ann', 'busy']]);
    expect(await httpGet('/v1/presence/channels/room:1', ANY_TENANT_KEY)).toEqual(room);
    const hall = await srv.server.channelPresence('hall:1');
    expect(hall).toEqual({ channel: 'hall:1', count: 1 });
    expect(await srv.server.channelPresence('room:1', { tenant: 'acme' })).toEqual({
      channel: 'room:1',
      count: 0,
      members: [],
    });
  });

  it('not_found on a channel without presence; bad names refused', async () => {
    expect(await codeOf(srv.server.channelPresence('feed:a'))).toBe('not_found');
    expect(await codeOf(srv.server.channelPresence('no spaces'))).toBe('invalid_channel');
    expect(await codeOf(srv.server.userPresence(''))).toBe('bad_request');
    expect(await codeOf(srv.server.userPresence('ann', { tenant: '' }))).toBe('invalid_channel');
  });
});

describe('a server without presence', () => {
  it('answers the presence reads with not_found, and history as usual', async () => {
    const plain = await startServer();
    try {
      expect(await codeOf(plain.server.userPresence('ann'))).toBe('not_found');
      expect(await codeOf(plain.server.channelPresence('room:1'))).toBe('not_found');
      await plain.server.publish({ channel: 'feed:b', type: 'news', data: 1 });
      expect((await plain.server.history('feed:b')).messages.map((m) => m.offset)).toEqual([1]);
    } finally {
      await plain.close();
    }
  });
});
