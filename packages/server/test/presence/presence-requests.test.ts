/**
 * The presence requests: bad `presence` / `members` frames are refused and change nothing; `members`
 * needs the subscribe permission and a channel with presence; the HTTP reads with a token or an
 * API key; `onLastActive` is throttled per user (an injected clock) and its failure is only logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelPresenceResponse, UserPresenceResponse } from '@tether/protocol';
import { isErrorReply, startServer, waitUntil, type TestServer } from '@tether/testing';
import { presenceClient, subsOf, type PresenceClient } from './presence-helpers.js';

const TENANT_KEY = 'tk_presence_tenant_acme_0123456789';

let srv: TestServer;
const lastActive: { tenant: string; sub: string; at: number }[] = [];
let clock = 1_700_000_000_000;
const clients: PresenceClient[] = [];

beforeAll(async () => {
  srv = await startServer({
    now: () => clock,
    apiKeys: [
      { key: 'tk_presence_any_tenant_0123456789', tenant: '*' },
      { key: TENANT_KEY, tenant: 'acme' },
    ],
    presence: {
      channels: [{ pattern: 'room:*' }, { pattern: 'hall:*', mode: 'counts' }],
      graceMs: 200,
      batchMs: 10,
      onLastActive: (ctx) => {
        lastActive.push(ctx);
        if (ctx.sub === 'grumpy') throw new Error('the app’s hook failed');
      },
    },
    maxInvalidFramesPerMinute: 1000,
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.close();
});

async function user(sub: string, channels: string[] = ['room:*', 'hall:*'], tenant?: string): Promise<PresenceClient> {
  const c = await presenceClient(srv, { sub, channels, ...(tenant ? { tenant } : {}) });
  clients.push(c);
  return c;
}

async function get<T>(
  path: string,
  credential?: string,
): Promise<{ status: number; body: T & { error?: { code: string } } }> {
  const headers: Record<string, string> = credential ? { authorization: `Bearer ${credential}` } : {};
  const res = await fetch(`${srv.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as T & { error?: { code: string } } };
}

const codeOf = (reply: unknown): string | undefined =>
  isErrorReply(reply as object) ? (reply as { error: { code: string } }).error.code : undefined;

describe('presence and members frames', () => {
  it('bad frames get bad_request (or invalid_channel) and change nothing', async () => {
    const ann = await user('ann');
    expect(isErrorReply(await ann.sub('room:bad'))).toBe(false);
    expect(await ann.status({ status: 'busy' })).toEqual({ status: 'busy' });
    // Its busy has gone out: in its snapshot, or in an update after it.
    await ann.frame((f) => [...(f.members ?? []), ...(f.update ?? [])].some((m) => m.status === 'busy'));
    const from = ann.frames.length;
    const bad: unknown[] = [
      null,
      7,
      'busy',
      [],
      { status: 'offline' },
      { status: 'BUSY' },
      { active: false },
      { active: 'yes' },
      { status: 'idle', x: 1 },
    ];
    for (const frame of bad) expect(codeOf(await ann.status(frame)), JSON.stringify(frame)).toBe('bad_request');
    for (const frame of [null, {}, { channel: 1 }, { channel: 'room:bad', x: 1 }]) {
      expect(codeOf(await ann.members(frame)), JSON.stringify(frame)).toBe('bad_request');
    }
    expect(codeOf(await ann.members({ channel: 'room/bad' }))).toBe('invalid_channel');
    // Still busy, still the only member, still connected.
    const members = await ann.members('room:bad');
    expect(members).toEqual({ channel: 'room:bad', count: 1, members: [{ sub: 'ann', status: 'busy', devices: 1 }] });
    expect(ann.socket.connected).toBe(true);
    expect(ann.frames.slice(from)).toEqual([]);
  });

  it('members: forbidden without the subscribe permission, not_found on a channel without presence', async () => {
    const bob = await user('bob', ['room:open']);
    expect(codeOf(await bob.members('room:closed'))).toBe('forbidden');
    expect(codeOf(await bob.members('chat:x'))).toBe('forbidden');
    const cat = await user('cat', ['*']);
    expect(codeOf(await cat.members('chat:x'))).toBe('not_found');
    expect(await cat.members('room:empty')).toEqual({ channel: 'room:empty', count: 0, members: [] });
    expect(await cat.members('hall:empty')).toEqual({ channel: 'hall:empty', count: 0 });
  });

  it('busy clears back to the derived status; presence {} answers the status and changes nothing', async () => {
    const dan = await user('dan');
    expect(await dan.status({ status: 'busy' })).toEqual({ status: 'busy' });
    expect(await dan.status({})).toEqual({ status: 'busy' });
    expect(await dan.status({ status: 'online' })).toEqual({ status: 'online' });
  });
});

describe('onLastActive and lastSeen', () => {
  it('is called on connect, then at most once per lastActiveThrottleMs per user; lastSeen follows', async () => {
    const start = clock;
    const eve = await user('eve');
    await waitUntil(() => (lastActive.some((c) => c.sub === 'eve') ? true : undefined));
    expect(lastActive.filter((c) => c.sub === 'eve')).toEqual([{ tenant: 'default', sub: 'eve', at: start }]);
    clock += 30_000;
    expect(await eve.status({ active: true })).toEqual({ status: 'online' });
    clock += 29_999;
    expect(await eve.status({ active: true })).toEqual({ status: 'online' });
    expect(lastActive.filter((c) => c.sub === 'eve')).toHaveLength(1);
    clock += 1;
    expect(await eve.status({ active: true })).toEqual({ status: 'online' });
    expect(lastActive.filter((c) => c.sub === 'eve')).toEqual([
      { tenant: 'default', sub: 'eve', at: start },
      { tenant: 'default', sub: 'eve', at: start + 60_000 },
    ]);
    const read = await get<UserPresenceResponse>('/v1/presence/users/eve', await srv.token('eve'));
    expect(read.body.lastSeen).toBe(start + 60_000);
    expect(read.body.devices).toEqual([{ deviceId: eve.deviceId, status: 'online', lastActiveAt: start + 60_000 }]);
  });

  it('a throwing hook is logged; the connection and its replies go on', async () => {
    const grumpy = await user('grumpy');
    await waitUntil(() => (lastActive.some((c) => c.sub === 'grumpy') ? true : undefined));
    clock += 120_000;
    expect(await grumpy.status({ active: true, status: 'idle' })).toEqual({ status: 'idle' });
    expect(lastActive.filter((c) => c.sub === 'grumpy')).toHaveLength(2);
    expect(grumpy.socket.connected).toBe(true);
  });
});

describe('HTTP presence reads', () => {
  it('a user reads itself, and another user only when it may see it in a members channel', async () => {
    const fay = await user('fay', ['room:shared']);
    expect(isErrorReply(await fay.sub('room:shared'))).toBe(false);
    await fay.status({ status: 'busy' });
    const gus = await user('gus', ['room:shared']);
    expect(isErrorReply(await gus.sub('room:shared'))).toBe(false);

    const own = await get<UserPresenceResponse>(
      '/v1/presence/users/fay',
      await srv.token({ sub: 'fay', channels: [] }),
    );
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      sub: 'fay',
      status: 'busy',
      devices: [{ deviceId: fay.deviceId, status: 'busy' }],
    });
    const seen = await get<UserPresenceResponse>(
      '/v1/presence/users/fay',
      await srv.token({ sub: 'gus', channels: ['room:shared'] }),
    );
    expect(seen.body.status).toBe('busy');
    const stranger = await get('/v1/presence/users/fay', await srv.token({ sub: 'hal', channels: ['room:other'] }));
    expect([stranger.status, stranger.body.error?.code]).toEqual([403, 'forbidden']);
    const offline = await get<UserPresenceResponse>('/v1/presence/users/nobody', srv.apiKey);
    expect(offline.body).toEqual({ sub: 'nobody', status: 'offline', devices: [], lastSeen: null });
  });

  it('a channel with a token (subscribe permission) or an API key of the tenant; refusals are clear', async () => {
    const ivy = await user('ivy', ['room:lobby']);
    expect(isErrorReply(await ivy.sub('room:lobby'))).toBe(false);
    const token = await srv.token({ sub: 'jon', channels: ['room:lobby'] });
    const byToken = await get<ChannelPresenceResponse>('/v1/presence/channels/room:lobby', token);
    expect(byToken.status).toBe(200);
    expect(subsOf(byToken.body.members)).toEqual(['ivy']);
    const byKey = await get<ChannelPresenceResponse>('/v1/presence/channels/room:lobby', srv.apiKey);
    expect(byKey.body).toEqual(byToken.body);

    const refusals = await Promise.all([
      get('/v1/presence/channels/room:lobby'),
      get('/v1/presence/channels/room:lobby', 'not-a-token-nor-a-key'),
      get('/v1/presence/channels/room:secret', token),
      get('/v1/presence/channels/chat:x', srv.apiKey),
      get('/v1/presence/channels/room:lobby?tenant=other', TENANT_KEY),
      get('/v1/presence/channels/room:lobby?tenant=acme', token),
      get('/v1/presence/channels/room:lobby?tenant=b%20d', srv.apiKey),
      get('/v1/presence/channels/bad%2Fname', srv.apiKey),
    ]);
    expect(refusals.map((r) => [r.status, r.body.error?.code])).toEqual([
      [401, 'unauthorized'],
      [401, 'unauthorized'],
      [403, 'forbidden'],
      [404, 'not_found'],
      [403, 'forbidden'],
      [400, 'bad_request'],
      [400, 'invalid_channel'],
      [400, 'invalid_channel'],
    ]);
  });

  it('tenants are apart: a tenant key reads its own tenant, a `*` key names it', async () => {
    const kim = await user('kim', ['room:t'], 'acme');
    expect(isErrorReply(await kim.sub('room:t'))).toBe(false);
    const scoped = await get<ChannelPresenceResponse>('/v1/presence/channels/room:t', TENANT_KEY);
    expect(subsOf(scoped.body.members)).toEqual(['kim']);
    const named = await get<ChannelPresenceResponse>('/v1/presence/channels/room:t?tenant=acme', srv.apiKey);
    expect(subsOf(named.body.members)).toEqual(['kim']);
    const otherTenant = await get<ChannelPresenceResponse>('/v1/presence/channels/room:t', srv.apiKey);
    expect(otherTenant.body).toEqual({ channel: 'room:t', count: 0, members: [] });
    const user_ = await get<UserPresenceResponse>('/v1/presence/users/kim', TENANT_KEY);
    expect(user_.body.status).toBe('online');
  });
});

describe('presence off', () => {
  it('the frames and the HTTP reads answer not_found', async () => {
    const off = await startServer();
    try {
      const c = await presenceClient(off, { sub: 'x', channels: ['*'] });
      expect(codeOf(await c.status({ status: 'busy' }))).toBe('not_found');
      expect(codeOf(await c.members('room:a'))).toBe('not_found');
      c.close();
      const res = await fetch(`${off.url}/v1/presence/users/x`, { headers: { authorization: `Bearer ${off.apiKey}` } });
      expect(res.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
