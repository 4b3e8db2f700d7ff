/**
 * Every inbound frame is schema-checked (docs/protocol.md, conventions): a bad one is answered with its documented code
 * — through the reply callback, or an `error` event when there is none — and changes nothing; the
 * connection stays usable. Also the handshake's refusals and the token's lifetime on a live
 * connection (`token_expired`, `refresh`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { issueToken } from '@tether/server';
import {
  connectClient,
  isErrorReply,
  startServer,
  waitFor,
  waitUntil,
  type ConnectError,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import {
  errorCodes,
  type ErrorCode,
  type ErrorFrame,
  type PollResponse,
  type PollChannelMessages,
} from '@tether/protocol';

const MAX_PAYLOAD = 1024;

let srv: TestServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  // One socket sends every bad frame below: the invalid-frame budget (guard.test.ts) is raised here.
  srv = await startServer({
    // The expiry tests below close connections at `exp` (a connection's token ends at exp + skew).
    clockSkewSeconds: 0,
    maxPayloadBytes: MAX_PAYLOAD,
    maxChannelsPerConnection: 10,
    maxInvalidFramesPerMinute: 10_000,
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.close();
});

// ---- helpers -----------------------------------------------------------------------------------

/** The socket without the typed event map, to send what a well-behaved client never would. */
interface RawEmitter {
  emit(event: string, ...args: unknown[]): unknown;
}
const rawOf = (c: TestClient): RawEmitter => c.socket as unknown as RawEmitter;

async function client(claims: Parameters<TestServer['token']>[0]): Promise<TestClient> {
  const c = await connectClient(srv.url, await srv.token(claims));
  clients.push(c);
  return c;
}

/** Sends `event` with `args` and a reply callback; resolves with the reply. */
function sendWithReply(c: TestClient, event: string, args: readonly unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${event} ${JSON.stringify(args)}`)), 3000);
    rawOf(c).emit(event, ...args, (reply: unknown) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** Sends `event` with `args` and no callback; resolves with the next `error` event. */
async function sendExpectingError(c: TestClient, event: string, args: readonly unknown[]): Promise<ErrorFrame> {
  const error = waitFor<ErrorFrame>(c.socket, 'error', undefined, 3000);
  rawOf(c).emit(event, ...args);
  return error;
}

function codeOf(reply: unknown): string | undefined {
  if (typeof reply !== 'object' || reply === null || !('error' in reply)) return undefined;
  return (reply as { error: { code: string } }).error.code;
}

function decodeExp(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
  return payload.exp;
}

async function headOf(channel: string): Promise<number> {
  const token = await srv.token({ sub: 'observer', channels: ['*'] });
  const res = await fetch(`${srv.url}/v1/poll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ positions: { [channel]: { offset: 0 } } }),
  });
  const body = (await res.json()) as PollResponse;
  return (body.channels[channel] as PollChannelMessages).upTo;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the table of bad frames ---------------------------------------------------------------------

type Case = readonly [event: string, args: readonly unknown[], code: ErrorCode];

const pub = { channel: 'room:a', type: 't', data: { ok: true }, id: 'p-1' } as const;
const without = (key: keyof typeof pub): Record<string, unknown> => {
  const { [key]: _gone, ...rest } = pub;
  return rest;
};
const nonObjects: readonly unknown[] = [null, 'room:a', 42, true, [], [{ channel: 'room:a' }]];

const CASES: readonly Case[] = [
  // sub
  ['sub', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['sub', [p], 'bad_request']),
  ['sub', [{}], 'bad_request'],
  ['sub', [{ channel: 5 }], 'bad_request'],
  ['sub', [{ channel: 'room:a', extra: 1 }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: 3 }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: {} }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: { offset: -1 } }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: { offset: 1.5 } }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: { offset: '1' } }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: { epoch: 5, offset: 1 } }], 'bad_request'],
  ['sub', [{ channel: 'room:a', since: { offset: 1, extra: 1 } }], 'bad_request'],
  ['sub', [{ channel: 'room:a' }, { channel: 'room:b' }], 'bad_request'],
  ['sub', [{ channel: 'room/a' }], 'invalid_channel'],
  ['sub', [{ channel: '' }], 'invalid_channel'],
  ['sub', [{ channel: 'x'.repeat(201) }], 'invalid_channel'],
  ['sub', [{ channel: 'room a' }], 'invalid_channel'],
  ['sub', [{ channel: '__proto__' }], 'invalid_channel'],
  // unsub
  ['unsub', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['unsub', [p], 'bad_request']),
  ['unsub', [{}], 'bad_request'],
  ['unsub', [{ channel: 'room:keep', since: { offset: 0 } }], 'bad_request'],
  ['unsub', [{ channel: 'room:keep' }, { channel: 'room:keep' }], 'bad_request'],
  ['unsub', [{ channel: 'room:keep/..' }], 'invalid_channel'],
  // pub
  ['pub', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['pub', [p], 'bad_request']),
  ['pub', [without('channel')], 'bad_request'],
  ['pub', [without('type')], 'bad_request'],
  ['pub', [without('id')], 'bad_request'],
  ['pub', [without('data')], 'bad_request'],
  ['pub', [{ ...pub, type: '' }], 'bad_request'],
  ['pub', [{ ...pub, type: 't'.repeat(101) }], 'bad_request'],
  ['pub', [{ ...pub, type: 3 }], 'bad_request'],
  ['pub', [{ ...pub, id: '' }], 'bad_request'],
  ['pub', [{ ...pub, id: 'i'.repeat(129) }], 'bad_request'],
  ['pub', [{ ...pub, id: 7 }], 'bad_request'],
  ['pub', [{ ...pub, ttl: 0 }], 'bad_request'],
  ['pub', [{ ...pub, ttl: -5 }], 'bad_request'],
  ['pub', [{ ...pub, ttl: 1.5 }], 'bad_request'],
  ['pub', [{ ...pub, ttl: '100' }], 'bad_request'],
  ['pub', [{ ...pub, critical: 'yes' }], 'bad_request'],
  ['pub', [{ ...pub, collapseKey: '' }], 'bad_request'],
  ['pub', [{ ...pub, offset: 1 }], 'bad_request'],
  ['pub', [{ ...pub, tenant: 'B' }], 'bad_request'],
  ['pub', [pub, pub], 'bad_request'],
  ['pub', [{ ...pub, channel: 'room/a' }], 'invalid_channel'],
  ['pub', [{ ...pub, channel: '' }], 'invalid_channel'],
  ['pub', [{ ...pub, data: 'x'.repeat(MAX_PAYLOAD) }], 'payload_too_large'],
  ['pub', [{ ...pub, data: { nested: ['€'.repeat(400)] } }], 'payload_too_large'],
  // ack
  ['ack', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['ack', [p], 'bad_request']),
  ['ack', [{}], 'bad_request'],
  ['ack', [{ acks: [] }], 'bad_request'],
  ['ack', [{ acks: 'room:keep' }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': -1 } }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': '1' } }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': 1.5 } }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': null } }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': 1 }, extra: 1 }], 'bad_request'],
  ['ack', [{ acks: { 'room:keep': 1 } }, { acks: { 'room:keep': 1 } }], 'bad_request'],
  ['ack', [{ acks: { 'room/keep': 1 } }], 'invalid_channel'],
  // A `__proto__` key would set the object's prototype instead of naming a channel.
  ['ack', [JSON.parse('{"acks":{"__proto__":1}}')], 'invalid_channel'],
  // refresh
  ['refresh', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['refresh', [p], 'bad_request']),
  ['refresh', [{}], 'bad_request'],
  ['refresh', [{ token: 5 }], 'bad_request'],
  ['refresh', [{ token: '' }], 'bad_request'],
  ['refresh', [{ token: 'x', extra: 1 }], 'bad_request'],
  ['refresh', [{ token: 'a.b.c' }, { token: 'a.b.c' }], 'bad_request'],
  ['refresh', [{ token: 'not-a-jwt' }], 'unauthorized'],
  // presence (this server has presence off: a valid frame is `not_found`, a bad one still `bad_request`)
  ['presence', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['presence', [p], 'bad_request']),
  ['presence', [{ status: 'offline' }], 'bad_request'],
  ['presence', [{ status: 'BUSY' }], 'bad_request'],
  ['presence', [{ active: false }], 'bad_request'],
  ['presence', [{ status: 'busy', extra: 1 }], 'bad_request'],
  ['presence', [{ status: 'busy' }, { status: 'busy' }], 'bad_request'],
  ['presence', [{ status: 'busy' }], 'not_found'],
  // members
  ['members', [], 'bad_request'],
  ...nonObjects.map((p): Case => ['members', [p], 'bad_request']),
  ['members', [{}], 'bad_request'],
  ['members', [{ channel: 5 }], 'bad_request'],
  ['members', [{ channel: 'room:a', extra: 1 }], 'bad_request'],
  ['members', [{ channel: 'room/a' }], 'invalid_channel'],
  ['members', [{ channel: 'room:a' }], 'not_found'],
  // events the server does not know
  ['typing!', [{ channel: 'room:a' }], 'bad_request'],
  ['subscribe', [{ channel: 'room:a' }], 'bad_request'],
  ['publish', [pub], 'bad_request'],
  ['msg', [{ channel: 'room:a', epoch: 'e', messages: [] }], 'bad_request'],
  ['SUB', [{ channel: 'room:a' }], 'bad_request'],
  ['error', [{ code: 'internal', message: 'x' }], 'bad_request'],
  ['resync', [], 'bad_request'],
  ['__proto__', [{}], 'bad_request'],
  ['constructor', [{}], 'bad_request'],
  ['x'.repeat(500), [1, 2, 3], 'bad_request'],
];

const COUNTED: ReadonlySet<string> = new Set(['bad_request', 'invalid_channel']);

describe('inbound frames', () => {
  it('each bad frame gets its documented code, with or without a reply callback, and changes nothing', async () => {
    const c = await client({ sub: 'fv', channels: ['room:*'], publish: ['room:*'] });
    expect(isErrorReply(await c.sub('room:keep'))).toBe(false);
    await srv.server.publish({ channel: 'room:keep', type: 't', data: 'before' });
    await srv.server.publish({ channel: 'room:a', type: 't', data: 'before' });
    await c.messages.waitForCount(1, { channel: 'room:keep' });
    const heads = { a: await headOf('room:a'), keep: await headOf('room:keep') };
    const errors: ErrorFrame[] = [];
    c.socket.on('error', (e) => errors.push(e));
    const stats0 = srv.server.stats();

    const mismatches: string[] = [];
    for (const [event, args, code] of CASES) {
      const reply = await sendWithReply(c, event, args);
      if (codeOf(reply) !== code) {
        mismatches.push(`${event} ${JSON.stringify(args).slice(0, 80)} with reply: ${JSON.stringify(reply)}`);
      }
      const error = await sendExpectingError(c, event, args).catch((err: Error) => ({ code: err.message }));
      if (error.code !== code) {
        mismatches.push(`${event} ${JSON.stringify(args).slice(0, 80)} without reply: ${JSON.stringify(error)}`);
      }
    }
    expect(mismatches).toEqual([]);
    // An `error` event only for the frames without a callback: one each.
    expect(errors).toHaveLength(CASES.length);
    for (const e of errors) {
      expect(errorCodes).toContain(e.code);
      expect(typeof e.message).toBe('string');
    }

    const stats1 = srv.server.stats();
    expect(stats1.published, 'nothing was published').toBe(stats0.published);
    expect(stats1.acked, 'nothing was acked').toBe(stats0.acked);
    const counted = CASES.filter(([, , code]) => COUNTED.has(code)).length * 2;
    expect(stats1.rejectedFrames - stats0.rejectedFrames).toBe(counted);
    expect(await headOf('room:a')).toBe(heads.a);
    expect(await headOf('room:keep')).toBe(heads.keep);
    expect(c.socket.connected).toBe(true);

    // Nothing changed on the connection: still subscribed to room:keep (no bad unsub took),
    // not subscribed to room:a (no bad sub took).
    await srv.server.publish({ channel: 'room:a', type: 't', data: 'after' });
    await srv.server.publish({ channel: 'room:keep', type: 't', data: 'after' });
    await c.messages.waitFor((m) => m.channel === 'room:keep' && m.data === 'after');
    expect(c.messages.messages.filter((m) => m.channel === 'room:a')).toEqual([]);

    // And it is fully usable: sub, pub, ack, unsub, refresh.
    const sub = await c.sub('room:a', { offset: 0 });
    expect(sub).toMatchObject({ channel: 'room:a', offset: heads.a + 1 });
    const published = await c.pub({ channel: 'room:a', type: 't', data: 'mine', id: 'p-1' });
    expect(published).toMatchObject({ offset: heads.a + 2 });
    await c.messages.waitFor((m) => m.channel === 'room:a' && m.data === 'mine');
    const acked0 = srv.server.stats().acked;
    c.ack({ 'room:a': heads.a + 2 });
    await waitUntil(() => (srv.server.stats().acked > acked0 ? true : undefined), 2000, 'ack counted');
    expect(await c.unsub('room:a')).toEqual({});
    expect(await c.refresh(await srv.token({ sub: 'fv', channels: ['room:*'] }))).toEqual({
      exp: expect.any(Number),
    });
  });

  it('a frame over the transport limit ends only that connection; the server carries on', async () => {
    const c = await client({ sub: 'big', channels: ['room:*'], publish: ['room:*'] });
    const other = await client({ sub: 'other', channels: ['room:*'] });
    await other.sub('room:big');
    const published0 = srv.server.stats().published;
    const gone = waitFor(c.socket, 'disconnect', undefined, 3000);
    rawOf(c).emit('pub', { ...pub, channel: 'room:big', data: 'x'.repeat(MAX_PAYLOAD * 40) });
    await gone;
    expect(srv.server.stats().published).toBe(published0);
    expect(other.socket.connected).toBe(true);
    await srv.server.publish({ channel: 'room:big', type: 't', data: 'still here' });
    await other.messages.waitFor((m) => m.data === 'still here');
  });
});

// ---- handshake -----------------------------------------------------------------------------------

/** Connects and expects a refusal; returns the code of `connect_error`'s data. */
async function refusedHandshake(token: string | undefined, auth: Record<string, unknown> = {}): Promise<string> {
  try {
    const c = await connectClient(srv.url, token ?? '', {
      auth: { ...(token === undefined ? { token } : {}), ...auth },
    });
    c.close();
    return 'connected';
  } catch (err) {
    const data = (err as ConnectError).data as { code?: unknown; message?: unknown } | undefined;
    expect(typeof data?.message).toBe('string');
    return String(data?.code);
  }
}

const hs256 = (claims: Record<string, unknown>, secret: string | Uint8Array = srv.secret): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);

describe('handshake', () => {
  it('no token, a garbage token, a wrong signature or bad claims → unauthorized; authFailures counts them', async () => {
    const base64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${base64({ alg: 'none', typ: 'JWT' })}.${base64({ sub: 'u1', exp: 9_999_999_999 })}.`;
    const cases: [string, string | undefined, Record<string, unknown>?][] = [
      ['no token', undefined],
      ['empty token', ''],
      ['a number', undefined, { token: 42 }],
      ['garbage', 'garbage'],
      ['three dots', 'a.b.c'],
      ['wrong secret', await issueToken({ secret: 'not-the-server-secret-0123456789', sub: 'u1' })],
      ['alg none', unsigned],
      ['no sub', await hs256({})],
      ['sub breaking the grammar', await hs256({ sub: 'a/b' })],
      ['bad tenant', await hs256({ sub: 'u1', tenant: 'a/b' })],
      ['channels not a list', await hs256({ sub: 'u1', channels: 'room:*' })],
      ['publish not strings', await hs256({ sub: 'u1', publish: [1] })],
    ];
    const failures0 = srv.server.stats().authFailures;
    const got: Record<string, string> = {};
    for (const [name, token, auth] of cases) got[name] = await refusedHandshake(token, auth);
    expect(got).toEqual(Object.fromEntries(cases.map(([name]) => [name, 'unauthorized'])));
    expect(srv.server.stats().authFailures - failures0).toBe(cases.length);
  });

  it('an expired token → token_expired, counted as an auth failure', async () => {
    const failures0 = srv.server.stats().authFailures;
    const expired = await srv.token({ sub: 'u1', ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    expect(await refusedHandshake(expired)).toBe('token_expired');
    expect(srv.server.stats().authFailures - failures0).toBe(1);
  });

  it('malformed positions or deviceId → bad_request / invalid_channel, counted as rejected frames (too many channels is not)', async () => {
    const token = await srv.token({ sub: 'u1', channels: ['room:*'] });
    const cases: [Record<string, unknown>, ErrorCode][] = [
      [{ positions: 'room:a' }, 'bad_request'],
      [{ positions: [] }, 'bad_request'],
      [{ positions: { 'room:a': 5 } }, 'bad_request'],
      [{ positions: { 'room:a': { offset: -1 } } }, 'bad_request'],
      [{ positions: { 'room:a': { offset: 0, extra: 1 } } }, 'bad_request'],
      [{ positions: { 'room:a': { epoch: '', offset: 0 } } }, 'bad_request'],
      [{ positions: { 'room/a': { offset: 0 } } }, 'invalid_channel'],
      [{ positions: { '': { offset: 0 } } }, 'invalid_channel'],
      [JSON.parse('{"positions":{"__proto__":{"offset":0}}}') as Record<string, unknown>, 'invalid_channel'],
      [{ deviceId: 5 }, 'bad_request'],
      [{ deviceId: '' }, 'bad_request'],
      [
        { positions: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`room:${i}`, { offset: 0 }])) },
        'too_many_channels',
      ],
    ];
    const stats0 = srv.server.stats();
    for (const [auth, code] of cases) {
      expect(await refusedHandshake(token, auth), JSON.stringify(auth)).toBe(code);
    }
    const stats1 = srv.server.stats();
    expect(stats1.authFailures).toBe(stats0.authFailures);
    // The one refusal rule (delivery/refusals.ts), as on every path: malformed input counts, a limit does not.
    const malformed = cases.filter(([, code]) => code === 'bad_request' || code === 'invalid_channel').length;
    expect(malformed).toBe(cases.length - 1);
    expect(stats1.rejectedFrames - stats0.rejectedFrames).toBe(malformed);
    expect(stats1.connections).toBe(stats0.connections);
  });
});

// ---- the token's lifetime on a live connection ----------------------------------------------------

describe('token expiry while connected', () => {
  it('without a refresh the client gets error token_expired and is disconnected; a refresh keeps it', async () => {
    const claims = { sub: 'exp-user', channels: ['room:*'], publish: ['room:*'] };
    const shortToken = await srv.token({ ...claims, ttlSeconds: 3 }); // expires in 2–3 s
    const exp = decodeExp(shortToken);
    const [plain, refused, refreshed] = await Promise.all([
      connectClient(srv.url, shortToken),
      connectClient(srv.url, shortToken),
      connectClient(srv.url, shortToken),
    ]);
    clients.push(plain, refused, refreshed);
    const errorsOf = new Map<TestClient, ErrorFrame[]>();
    const disconnectedAt = new Map<TestClient, number>();
    for (const c of [plain, refused, refreshed]) {
      const list: ErrorFrame[] = [];
      errorsOf.set(c, list);
      c.socket.on('error', (e) => list.push(e));
      c.socket.on('disconnect', () => disconnectedAt.set(c, Date.now()));
    }

    // A refresh refused (another user) changes nothing: that connection expires on time too.
    const otherUser = await refreshed.refresh(await srv.token({ ...claims, sub: 'someone-else' }));
    expect(otherUser).toMatchObject({ error: { code: 'forbidden' } });
    expect(await refused.refresh(await srv.token({ ...claims, tenant: 'other' }))).toMatchObject({
      error: { code: 'forbidden' },
    });
    const fresh = await srv.token({ ...claims, ttlSeconds: 60 });
    const ok = await refreshed.refresh(fresh);
    expect(ok).toEqual({ exp: decodeExp(fresh) });

    await waitUntil(() => (disconnectedAt.size >= 2 ? true : undefined), 5000, 'two expired connections closed');
    for (const c of [plain, refused]) {
      expect(errorsOf.get(c)).toEqual([expect.objectContaining({ code: 'token_expired' })]);
      expect(disconnectedAt.get(c)!).toBeGreaterThanOrEqual(exp * 1000 - 100);
      expect(c.socket.connected).toBe(false);
    }

    // Well past the old expiry, the refreshed connection is still up and working.
    await sleep(Math.max(0, exp * 1000 + 500 - Date.now()));
    expect(refreshed.socket.connected).toBe(true);
    expect(errorsOf.get(refreshed)).toEqual([]);
    expect(disconnectedAt.has(refreshed)).toBe(false);
    await refreshed.sub('room:exp');
    expect(await refreshed.pub({ channel: 'room:exp', type: 't', data: 'alive' })).toMatchObject({ offset: 1 });
    await refreshed.messages.waitFor((m) => m.data === 'alive');
  });

  it('a refresh applies the new claims; bad refresh tokens are refused and change nothing', async () => {
    const c = await client({ sub: 'r1', channels: ['room:*'], publish: ['room:*'] });
    const expired = await srv.token({ sub: 'r1', ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    const wrongSecret = await issueToken({ secret: 'not-the-server-secret-0123456789', sub: 'r1' });
    expect(codeOf(await c.refresh(expired))).toBe('token_expired');
    expect(codeOf(await c.refresh(wrongSecret))).toBe('unauthorized');
    expect(codeOf(await c.refresh(await srv.token({ sub: 'r2', channels: ['*'], publish: ['*'] })))).toBe('forbidden');
    // None of these widened or narrowed anything.
    expect(codeOf(await c.sub('secret:1'))).toBe('forbidden');
    expect(codeOf(await c.pub({ channel: 'room:r', type: 't', data: 1 }))).toBeUndefined();
    expect(c.socket.connected).toBe(true);

    // A valid refresh with narrower claims: publishing is no longer allowed, `secret:*` now is.
    expect(await c.refresh(await srv.token({ sub: 'r1', channels: ['secret:*'] }))).toEqual({
      exp: expect.any(Number),
    });
    expect(codeOf(await c.pub({ channel: 'room:r', type: 't', data: 2 }))).toBe('forbidden');
    expect(codeOf(await c.sub('secret:1'))).toBeUndefined();
  });
});
