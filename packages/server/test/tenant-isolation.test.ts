/**
 * Isolation (docs/architecture.md §1.7; tokens: docs/protocol.md §2.1): a connection sees only its own tenant and only the channels its
 * claims and the `authorize` hook allow — over the socket (live and replay) and over HTTP.
 * Tenants A and B use the same channel name `room:x` and the same user `u1` (inbox `user:u1`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { AuthContext, ChannelAction } from '@tether/server';
import {
  connectClient,
  isErrorReply,
  startServer,
  waitFor,
  waitUntil,
  type TestClaims,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import {
  httpStatusOf,
  type ErrorCode,
  type ErrorFrame,
  type PollChannelMessages,
  type PollResponse,
  type Reply,
} from '@tether/protocol';

const ROOM = 'room:x';
const INBOX = 'user:u1';
const KEY_ANY = 'tk_any_tenant_key_0123456789';
const KEY_A = 'tk_tenant_a_only_key_0123456789';

let srv: TestServer;
const clients: TestClient[] = [];
const hookCalls: { tenant: string; sub: string; channel: string; action: ChannelAction }[] = [];

beforeAll(async () => {
  srv = await startServer({
    apiKeys: [
      { key: KEY_ANY, tenant: '*' },
      { key: KEY_A, tenant: 'A' },
    ],
    // The app's own check: `room:vip` is closed to everyone, `room:ro` is read-only, a throwing
    // hook refuses; the rest is up to the claims.
    authorize: (ctx: AuthContext, channel: string, action: ChannelAction) => {
      if (ctx.sub.startsWith('reader-') && action === 'subscribe') return true; // the tests' own log reader
      hookCalls.push({ tenant: ctx.tenant, sub: ctx.sub, channel, action });
      if (channel === 'room:vip') return false;
      if (channel === 'room:ro' && action === 'publish') return false;
      if (channel === 'room:throws') throw new Error('hook failed');
      return true;
    },
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.close();
});

// ---- helpers -----------------------------------------------------------------------------------

const claimsOf = (tenant: string, extra: Partial<Exclude<TestClaims, string>> = {}): TestClaims => ({
  sub: 'u1',
  tenant,
  channels: ['room:*'],
  publish: ['room:*'],
  ...extra,
});

async function client(claims: TestClaims, options: Parameters<typeof connectClient>[2] = {}): Promise<TestClient> {
  const c = await connectClient(srv.url, await srv.token(claims), options);
  clients.push(c);
  return c;
}

async function httpPost(
  path: string,
  authorization: string,
  json: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(srv.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${authorization}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  return { status: res.status, body: await res.json() };
}

/** Everything retained in `channel` of `tenant`, read over HTTP by a tenant member allowed to read it all. */
async function logOf(tenant: string, channel: string): Promise<PollChannelMessages> {
  const token = await srv.token({ sub: `reader-${tenant}`, tenant, channels: ['*'] });
  const { status, body } = await httpPost('/v1/poll', token, { positions: { [channel]: { offset: 0 } } });
  expect(status, JSON.stringify(body)).toBe(200);
  const entry = (body as PollResponse).channels[channel];
  expect(entry).toBeDefined();
  expect(entry).not.toHaveProperty('resync');
  return entry as PollChannelMessages;
}

const tenantsIn = (log: PollChannelMessages): unknown[] =>
  log.messages.map((m) => (m.data as { tenant?: unknown } | null)?.tenant);

function expectRefused<T>(reply: Reply<T>, code: ErrorCode): void {
  expect(isErrorReply(reply), JSON.stringify(reply)).toBe(true);
  if (isErrorReply(reply)) expect(reply.error.code).toBe(code);
}

function codeOfReply<T>(reply: Reply<T>): string | undefined {
  return isErrorReply(reply) ? reply.error.code : undefined;
}

function publishBody(channel: string, data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { channel, type: 'note', data, ...extra };
}

// ---- tenants -----------------------------------------------------------------------------------

describe('two tenants with the same channel and user names', () => {
  it('a tenant-A client never receives tenant-B messages, live or on replay, over the socket or HTTP', async () => {
    const a = await client(claimsOf('A'));
    const b = await client(claimsOf('B'));
    for (const c of [a, b]) expect(isErrorReply(await c.sub(ROOM))).toBe(false);

    // Interleaved publishes to both tenants' `room:x` and `user:u1`.
    for (let i = 1; i <= 3; i++) {
      for (const tenant of ['B', 'A']) {
        await srv.server.publish({ tenant, channel: ROOM, type: 'note', data: { tenant, i } });
        await srv.server.publish({ tenant, channel: INBOX, type: 'note', data: { tenant, i } });
      }
    }
    // Tenant A's last message is the marker: fan-out is in order per channel.
    await a.messages.waitFor((m) => m.channel === ROOM && (m.data as { i: number }).i === 3);
    await a.messages.waitFor((m) => m.channel === INBOX && (m.data as { i: number }).i === 3);
    await b.messages.waitFor((m) => m.channel === INBOX && (m.data as { i: number }).i === 3);
    await b.messages.waitFor((m) => m.channel === ROOM && (m.data as { i: number }).i === 3);

    for (const [c, tenant] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      for (const channel of [ROOM, INBOX]) {
        const got = c.messages.messages.filter((m) => m.channel === channel);
        expect(got.map((m) => m.data)).toEqual([1, 2, 3].map((i) => ({ tenant, i })));
        expect(got.map((m) => m.offset)).toEqual([1, 2, 3]);
      }
    }

    // Replay from 0 in a fresh connection: by `sub` with `since`, and by handshake positions.
    const replaySub = await client(claimsOf('A'));
    await replaySub.sub(ROOM, { offset: 0 });
    await replaySub.messages.waitForCount(3, { channel: ROOM });
    expect(replaySub.messages.messages.map((m) => m.data)).toEqual([1, 2, 3].map((i) => ({ tenant: 'A', i })));

    const replayHandshake = await client(claimsOf('A'), {
      positions: { [ROOM]: { offset: 0 }, [INBOX]: { offset: 0 } },
    });
    await replayHandshake.messages.waitForCount(3, { channel: ROOM });
    await replayHandshake.messages.waitForCount(3, { channel: INBOX });
    expect(replayHandshake.messages.messages.map((m) => (m.data as { tenant: string }).tenant)).toEqual(
      Array(6).fill('A'),
    );

    // HTTP poll with a tenant-A user token.
    const tokenA = await srv.token(claimsOf('A'));
    const { status, body } = await httpPost('/v1/poll', tokenA, {
      positions: { [ROOM]: { offset: 0 }, [INBOX]: { offset: 0 } },
    });
    expect(status).toBe(200);
    const answer = body as PollResponse;
    for (const channel of [ROOM, INBOX]) {
      expect(tenantsIn(answer.channels[channel] as PollChannelMessages)).toEqual(['A', 'A', 'A']);
    }
    // Same names, different logs: different epochs.
    expect((await logOf('A', ROOM)).epoch).not.toBe((await logOf('B', ROOM)).epoch);
  });

  it('publishes by a tenant-A client land only in tenant A', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const a = await client(claimsOf('A'));
    const b = await client(claimsOf('B'));
    await a.sub(channel);
    await b.sub(channel);
    const headB = (await logOf('B', channel)).upTo;

    const reply = await a.pub({ channel, type: 'note', data: { tenant: 'A', from: 'client' } });
    expect(isErrorReply(reply), JSON.stringify(reply)).toBe(false);
    await a.messages.waitFor((m) => m.channel === channel);
    // A marker in B proves B's room is flowing, so A's message would have arrived by now.
    await srv.server.publish({ tenant: 'B', channel, type: 'marker', data: { tenant: 'B' } });
    await b.messages.waitFor((m) => m.channel === channel && m.type === 'marker');

    expect(b.messages.messages.filter((m) => m.channel === channel).map((m) => m.type)).toEqual(['marker']);
    expect(tenantsIn(await logOf('A', channel))).toEqual(['A']);
    const logB = await logOf('B', channel);
    expect(logB.upTo).toBe(headB + 1);
    expect(tenantsIn(logB)).toEqual(['B']);
  });
});

// ---- API keys ----------------------------------------------------------------------------------

describe('tenant-scoped API keys', () => {
  it('a key scoped to tenant A cannot publish to tenant B and publishes to A by default', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const refused = await httpPost('/v1/publish', KEY_A, publishBody(channel, { tenant: 'B' }, { tenant: 'B' }));
    expect(refused.status).toBe(httpStatusOf.forbidden);
    expect(refused.body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await logOf('B', channel)).upTo).toBe(0);
    expect((await logOf('A', channel)).upTo).toBe(0);

    const byDefault = await httpPost('/v1/publish', KEY_A, publishBody(channel, { tenant: 'A' }));
    expect(byDefault.status).toBe(200);
    expect(byDefault.body).toMatchObject({ offset: 1, duplicate: false });
    const explicit = await httpPost('/v1/publish', KEY_A, publishBody(channel, { tenant: 'A' }, { tenant: 'A' }));
    expect(explicit.status).toBe(200);
    expect(explicit.body).toMatchObject({ offset: 2 });

    expect(tenantsIn(await logOf('A', channel))).toEqual(['A', 'A']);
    expect((await logOf('B', channel)).upTo).toBe(0);
    expect((await logOf('default', channel)).upTo).toBe(0);
  });

  it('a scoped key’s body with more fields (id, ttl, critical) goes to the key’s tenant with every field, once', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const body = publishBody(channel, { tenant: 'A' }, { id, ttl: 60_000, critical: true });
    const first = await httpPost('/v1/publish', KEY_A, body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ offset: 1, epoch: expect.any(String), duplicate: false });
    // The same id again, naming the key's own tenant: the first offset, nothing appended.
    const again = await httpPost('/v1/publish', KEY_A, { ...body, tenant: 'A' });
    expect(again.body).toMatchObject({ offset: 1, duplicate: true });
    // Another tenant in the same fuller body: refused, nothing appended anywhere.
    const foreign = await httpPost('/v1/publish', KEY_A, { ...body, id: randomUUID(), tenant: 'B' });
    expect(foreign.body).toMatchObject({ error: { code: 'forbidden' } });

    const log = await logOf('A', channel);
    expect(log.upTo).toBe(1);
    expect(log.messages[0]).toMatchObject({ id, critical: true, ttl: 60_000, data: { tenant: 'A' } });
    expect((await logOf('B', channel)).upTo).toBe(0);
    expect((await logOf('default', channel)).upTo).toBe(0);
  });

  it('a `*` key publishes to the body’s tenant, `default` when none is given', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    for (const tenant of ['B', 'A', undefined]) {
      const extra = tenant === undefined ? {} : { tenant };
      const answer = await httpPost(
        '/v1/publish',
        KEY_ANY,
        publishBody(channel, { tenant: tenant ?? 'default' }, extra),
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    expect(tenantsIn(await logOf('A', channel))).toEqual(['A']);
    expect(tenantsIn(await logOf('B', channel))).toEqual(['B']);
    expect(tenantsIn(await logOf('default', channel))).toEqual(['default']);
  });

  it('the same idempotency id in two tenants is two messages', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const a = await httpPost('/v1/publish', KEY_ANY, publishBody(channel, { tenant: 'A' }, { tenant: 'A', id: 'x1' }));
    const b = await httpPost('/v1/publish', KEY_ANY, publishBody(channel, { tenant: 'B' }, { tenant: 'B', id: 'x1' }));
    expect(a.body).toMatchObject({ offset: 1, duplicate: false });
    expect(b.body).toMatchObject({ offset: 1, duplicate: false });
    expect(tenantsIn(await logOf('B', channel))).toEqual(['B']);
  });
});

// ---- claims and the authorize hook -------------------------------------------------------------

describe('channel permissions', () => {
  it('sub outside the `channels` claim and pub outside the `publish` claim → forbidden, nothing changed', async () => {
    const c = await client({ sub: 'u1', tenant: 'A', channels: ['room:*'], publish: ['room:open'] });
    const published0 = srv.server.stats().published;

    expectRefused(await c.sub('secret:1'), 'forbidden');
    expectRefused(await c.sub('rooms:1'), 'forbidden'); // a prefix that only looks alike
    expectRefused(await c.pub({ channel: 'room:x', type: 'note', data: 1 }), 'forbidden');
    expectRefused(await c.pub({ channel: 'secret:1', type: 'note', data: 1 }), 'forbidden');
    expectRefused(await c.pub({ channel: INBOX, type: 'note', data: 1 }), 'forbidden');

    // Without a reply callback the refusal is an `error` event.
    const raw = c.socket as unknown as { emit(event: string, ...args: unknown[]): unknown };
    const error = waitFor<ErrorFrame>(c.socket, 'error');
    raw.emit('sub', { channel: 'secret:2' });
    expect(await error).toMatchObject({ code: 'forbidden' });

    expect(srv.server.stats().published).toBe(published0);
    // A refused `sub` did not subscribe: a publish there does not reach the client.
    await srv.server.publish({ tenant: 'A', channel: 'secret:1', type: 'note', data: 'hidden' });
    const ok = await c.pub({ channel: 'room:open', type: 'note', data: 'allowed' });
    expect(isErrorReply(ok)).toBe(false);
    await c.sub('room:open', { offset: 0 });
    await c.messages.waitFor((m) => m.channel === 'room:open' && m.data === 'allowed');
    expect(c.messages.messages.some((m) => m.channel === 'secret:1')).toBe(false);
  });

  it('the `authorize` hook refusing → forbidden, on the socket and over HTTP', async () => {
    const c = await client(claimsOf('A', { channels: ['*'], publish: ['*'] }));
    const calls0 = hookCalls.length;
    expectRefused(await c.sub('room:vip'), 'forbidden');
    expectRefused(await c.pub({ channel: 'room:vip', type: 'note', data: 1 }), 'forbidden');
    expectRefused(await c.pub({ channel: 'room:ro', type: 'note', data: 1 }), 'forbidden');
    expectRefused(await c.sub('room:throws'), 'forbidden');
    expect(isErrorReply(await c.sub('room:ro'))).toBe(false);
    expect(hookCalls.slice(calls0)).toEqual(
      expect.arrayContaining([
        { tenant: 'A', sub: 'u1', channel: 'room:vip', action: 'subscribe' },
        { tenant: 'A', sub: 'u1', channel: 'room:vip', action: 'publish' },
        { tenant: 'A', sub: 'u1', channel: 'room:ro', action: 'publish' },
      ]),
    );
    expect((await logOf('A', 'room:vip')).upTo).toBe(0);
    expect((await logOf('A', 'room:ro')).upTo).toBe(0);

    const token = await srv.token(claimsOf('A', { channels: ['*'] }));
    const polled = await httpPost('/v1/poll', token, { positions: { 'room:vip': { offset: 0 } } });
    expect(polled.status).toBe(403);
    expect(polled.body).toMatchObject({ error: { code: 'forbidden' } });
    const acked = await httpPost('/v1/ack', token, { acks: { 'room:vip': 1 } });
    expect(acked.status).toBe(403);
  });

  it('a user can always subscribe to its own inbox, but not to another user’s unless the claims allow it', async () => {
    const none = await client({ sub: 'u1', tenant: 'A', channels: [] });
    const own = await none.sub(INBOX);
    expect(own).toMatchObject({ channel: INBOX });
    expectRefused(await none.sub('user:u2'), 'forbidden');
    expectRefused(await none.sub('user:u1x'), 'forbidden');

    const wide = await client({ sub: 'u1', tenant: 'A', channels: ['user:*'] });
    expect(isErrorReply(await wide.sub('user:u2'))).toBe(false);

    // The inbox is subscribed automatically: a message to it arrives without any `sub`.
    const fresh = await client({ sub: 'u3', tenant: 'A', channels: [] });
    await srv.server.publish({ tenant: 'A', channel: 'user:u3', type: 'note', data: 'to-u3' });
    await srv.server.publish({ tenant: 'B', channel: 'user:u3', type: 'note', data: 'to-B-u3' });
    await fresh.messages.waitFor((m) => m.channel === 'user:u3' && m.data === 'to-u3');
    // Over HTTP: another user's inbox is forbidden, the own one is always answered.
    const token = await srv.token({ sub: 'u3', tenant: 'A', channels: [] });
    const other = await httpPost('/v1/poll', token, { positions: { 'user:u1': { offset: 0 } } });
    expect(other.status).toBe(403);
    const mine = await httpPost('/v1/poll', token, { positions: { 'user:u3': { offset: 0 } } });
    expect(mine.status).toBe(200);
    expect((mine.body as PollResponse).channels['user:u3']).toMatchObject({
      messages: [expect.objectContaining({ data: 'to-u3' })],
    });
    expect(fresh.messages.messages.map((m) => m.data)).toEqual(['to-u3']);
  });

  it('a refresh that narrows the `channels` claim stops delivery of channels no longer allowed', async () => {
    // protocol.md §3 refresh: "its claims apply from now on"; docs/architecture.md §1.7: a connection sees only
    // the channels it is allowed to. A subscription made under the old claims must not outlive them.
    const c = await client({ sub: 'u1', tenant: 'A', channels: ['secret:*', 'room:*'] });
    expect(isErrorReply(await c.sub('secret:rv'))).toBe(false);
    expect(isErrorReply(await c.sub('room:rv'))).toBe(false);
    expect(await c.refresh(await srv.token({ sub: 'u1', tenant: 'A', channels: ['room:*'] }))).toEqual({
      exp: expect.any(Number),
    });

    await srv.server.publish({ tenant: 'A', channel: 'secret:rv', type: 'note', data: 'after the revoke' });
    // A marker on a channel still allowed, published after: once it is here, the other one would be too.
    await srv.server.publish({ tenant: 'A', channel: 'room:rv', type: 'marker', data: 'marker' });
    await c.messages.waitFor((m) => m.channel === 'room:rv' && m.type === 'marker');
    expect(c.messages.messages.filter((m) => m.channel === 'secret:rv')).toEqual([]);
    expect(codeOfReply(await c.sub('secret:rv'))).toBe('forbidden');
  });

  it('a handshake position for a forbidden channel is refused with an `error` naming the channel', async () => {
    const open = `room:${randomUUID().slice(0, 8)}`;
    await srv.server.publish({ tenant: 'A', channel: open, type: 'note', data: { tenant: 'A' } });
    await srv.server.publish({ tenant: 'A', channel: 'secret:9', type: 'note', data: 'hidden' });
    const errors: ErrorFrame[] = [];
    const c = await connectClient(srv.url, await srv.token(claimsOf('A')), {
      wait: false,
      positions: { 'secret:9': { offset: 0 }, [open]: { offset: 0 } },
    });
    clients.push(c);
    c.socket.on('error', (e) => errors.push(e));
    await c.messages.waitForCount(1, { channel: open });
    await waitUntil(() => (errors.length > 0 ? true : undefined), 2000, 'an error event');
    expect(errors).toEqual([expect.objectContaining({ code: 'forbidden', channel: 'secret:9' })]);
    expect(c.messages.messages.some((m) => m.channel === 'secret:9')).toBe(false);
    expect(c.socket.connected).toBe(true);
  });
});
