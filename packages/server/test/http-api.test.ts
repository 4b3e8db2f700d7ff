/**
 * The HTTP API through real `fetch` against a real server: publish with an API key, the stateless
 * fallback (poll, long-poll, ack), health, and every documented refusal — each refusal must carry
 * the code and status of errors.md and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { issueToken } from '@tether/server';
import { connectClient, isErrorReply, startServer, type TestClient, type TestServer } from '@tether/testing';
import {
  UNWRITTEN_EPOCH,
  errorCodes,
  httpStatusOf,
  type Envelope,
  type ErrorCode,
  type PollChannelMessages,
  type PollChannelResync,
  type PollResponse,
  type Position,
} from '@tether/protocol';

const MAX_PAYLOAD = 1024;

let srv: TestServer;
let userToken: string;
/** A token that may read every channel: used to look at heads without going through the code under test twice. */
let readAllToken: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  srv = await startServer({ maxPayloadBytes: MAX_PAYLOAD });
  userToken = await srv.token({ sub: 'u1', channels: ['room:*', 'feed:*'] });
  readAllToken = await srv.token({ sub: 'observer', channels: ['*'] });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.close();
});

// ---- helpers -----------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  body: unknown;
  contentType: string | null;
}

interface RequestOptions {
  /** The `Authorization` header as is; `undefined` sends none. */
  authorization?: string;
  /** A raw body (sent as is); otherwise `json` is serialised. */
  raw?: string;
  json?: unknown;
  contentType?: string;
  method?: string;
}

async function request(path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(srv.url + path, { method: options.method ?? 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Kept as text: the assertion shows it.
  }
  return { status: res.status, body: parsed, contentType: res.headers.get('content-type') };
}

const bearer = (credential: string): string => `Bearer ${credential}`;

function publish(json: unknown, key = srv.apiKey): Promise<HttpAnswer> {
  return request('/v1/publish', { authorization: bearer(key), json });
}

function poll(json: unknown, token = userToken): Promise<HttpAnswer> {
  return request('/v1/poll', { authorization: bearer(token), json });
}

function ack(json: unknown, token = userToken): Promise<HttpAnswer> {
  return request('/v1/ack', { authorization: bearer(token), json });
}

/** Asserts the documented error shape and status, and returns the message. */
function expectError(answer: HttpAnswer, code: ErrorCode): string {
  expect(answer.body, `body of a ${answer.status} answer`).toMatchObject({ error: { code } });
  expect(answer.status).toBe(httpStatusOf[code]);
  expect(answer.contentType).toMatch(/application\/json/);
  const error = (answer.body as { error: { code: string; message: unknown } }).error;
  expect(errorCodes).toContain(error.code);
  expect(typeof error.message).toBe('string');
  expect(Object.keys(answer.body as object)).toEqual(['error']);
  return error.message as string;
}

function okBody<T>(answer: HttpAnswer): T {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as T;
}

function messagesOf(entry: PollChannelMessages | PollChannelResync | undefined): PollChannelMessages {
  expect(entry, 'channel missing from the poll answer').toBeDefined();
  expect(entry).not.toHaveProperty('resync');
  return entry as PollChannelMessages;
}

/** The channel's epoch and head (and what is retained), as the HTTP fallback reports them to a reader of everything. */
async function logOf(channel: string): Promise<PollChannelMessages> {
  const answer = okBody<PollResponse>(await poll({ positions: { [channel]: { offset: 0 } } }, readAllToken));
  return messagesOf(answer.channels[channel]);
}

interface PublishAnswer {
  offset: number;
  epoch: string;
  duplicate: boolean;
}

const fresh = (prefix: string): string => `${prefix}:${randomUUID().slice(0, 8)}`;

async function connected(token = userToken): Promise<TestClient> {
  const c = await connectClient(srv.url, token);
  clients.push(c);
  return c;
}

// ---- publish -----------------------------------------------------------------------------------

describe('POST /v1/publish', () => {
  it('appends, answers {offset, epoch, duplicate:false}, and a subscribed socket receives it', async () => {
    const channel = fresh('room');
    const c = await connected();
    const sub = await c.sub(channel);
    expect(isErrorReply(sub)).toBe(false);
    const before = srv.server.stats().published;

    const first = okBody<PublishAnswer>(await publish({ channel, type: 'chat', data: { text: 'hi' }, id: 'p-1' }));
    expect(first).toEqual({ offset: 1, epoch: expect.any(String), duplicate: false });
    const second = okBody<PublishAnswer>(await publish({ channel, type: 'chat', data: [1, 'two'] }));
    expect(second).toEqual({ offset: 2, epoch: first.epoch, duplicate: false });

    const got = await c.messages.waitForCount(2, { channel });
    expect(got).toEqual([
      { channel, offset: 1, type: 'chat', data: { text: 'hi' } },
      { channel, offset: 2, type: 'chat', data: [1, 'two'] },
    ]);
    const frame = c.messages.frames.find((f) => f.channel === channel);
    expect(frame?.epoch).toBe(first.epoch);
    expect(frame?.messages[0]?.id).toBe('p-1');
    expect(srv.server.stats().published).toBe(before + 2);
  });

  it('a repeated id answers the first offset with duplicate:true and delivers nothing new', async () => {
    const channel = fresh('room');
    const c = await connected();
    await c.sub(channel);
    const stats0 = srv.server.stats();

    const first = okBody<PublishAnswer>(await publish({ channel, type: 't', data: { v: 1 }, id: 'same' }));
    const again = okBody<PublishAnswer>(await publish({ channel, type: 't', data: { v: 2 }, id: 'same' }));
    expect(again).toEqual({ offset: first.offset, epoch: first.epoch, duplicate: true });
    // A marker after the duplicate: fan-out is in order, so once it arrives anything the repeat
    // could have sent has arrived too.
    const marker = okBody<PublishAnswer>(await publish({ channel, type: 'marker', data: null }));
    expect(marker.offset).toBe(first.offset + 1);
    await c.messages.waitFor((m) => m.channel === channel && m.type === 'marker');

    expect(c.messages.messages.filter((m) => m.channel === channel)).toEqual([
      { channel, offset: 1, type: 't', data: { v: 1 } },
      { channel, offset: 2, type: 'marker', data: null },
    ]);
    const stats1 = srv.server.stats();
    expect(stats1.published - stats0.published).toBe(2);
    expect(stats1.duplicatesIgnored - stats0.duplicatesIgnored).toBe(1);
    const log = await logOf(channel);
    expect(log.upTo).toBe(2);
    expect(log.messages.map((m) => m.data)).toEqual([{ v: 1 }, null]);
  });

  it('keeps the optional fields (ttl, critical, collapseKey) on the delivered envelope, with expiresAt', async () => {
    const channel = fresh('room');
    const c = await connected();
    await c.sub(channel);
    const answer = okBody<PublishAnswer>(
      await publish({ channel, type: 't', data: 1, id: 'opt', ttl: 60_000, critical: true, collapseKey: 'k' }),
    );
    await c.messages.waitForCount(1, { channel });
    const envelope = c.messages.frames.find((f) => f.channel === channel)?.messages[0];
    expect(envelope).toEqual({
      id: 'opt',
      offset: answer.offset,
      type: 't',
      data: 1,
      ts: expect.any(Number),
      ttl: 60_000,
      critical: true,
      collapseKey: 'k',
      expiresAt: (envelope?.ts ?? 0) + 60_000, // the SDK drops it after this
    });
  });
});

// ---- poll ----------------------------------------------------------------------------------------

describe('POST /v1/poll', () => {
  it('answers the same messages for a position as the socket replay of `sub` with `since`', async () => {
    const channel = fresh('feed');
    const inputs = [
      { channel, type: 'a', data: { n: 1 }, id: 'm1' },
      { channel, type: 'a', data: { n: 2 }, id: 'm2' },
      { channel, type: 'gone', data: { n: 3 }, id: 'm3', ttl: 1 }, // expires: skipped on both paths
      { channel, type: 'eta', data: { n: 4 }, id: 'm4', collapseKey: 'eta' }, // collapsed by m6
      { channel, type: 'a', data: 'five', id: 'm5' },
      { channel, type: 'eta', data: { n: 6 }, id: 'm6', collapseKey: 'eta' },
      { channel, type: 'a', data: [null, true, 7], id: 'm7' },
    ];
    const results = await srv.server.publishMany(inputs);
    const epoch = results[0]!.epoch;
    await new Promise((r) => setTimeout(r, 10)); // let the ttl of m3 pass
    const since: Position = { epoch, offset: 1 };

    const c = await connected();
    const reply = await c.sub(channel, since);
    expect(reply).toEqual({ channel, epoch, offset: 7 });
    await c.messages.waitFor((m) => m.channel === channel && m.offset === 7);
    const replayed = c.messages.frames.filter((f) => f.channel === channel);
    const socketMessages: Envelope[] = replayed.flatMap((f) => f.messages);
    expect(replayed.at(-1)?.upTo).toBe(7);

    const answer = okBody<PollResponse>(await poll({ positions: { [channel]: since } }));
    const http = messagesOf(answer.channels[channel]);
    expect(http.epoch).toBe(epoch);
    expect(http.upTo).toBe(7);
    expect(http.messages).toEqual(socketMessages);
    expect(http.messages.map((m) => [m.offset, m.id])).toEqual([
      [2, 'm2'],
      [5, 'm5'],
      [6, 'm6'],
      [7, 'm7'],
    ]);
    expect(http.messages.map((m) => m.data)).toEqual([{ n: 2 }, 'five', { n: 6 }, [null, true, 7]]);
    // The same position asked again answers the same.
    const again = okBody<PollResponse>(await poll({ positions: { [channel]: since } }));
    expect(messagesOf(again.channels[channel])).toEqual(http);
  });

  it('always includes the caller’s inbox; with no position it is {epoch, messages: [], upTo: head}', async () => {
    const token = await srv.token({ sub: 'inbox-owner' });
    const empty = okBody<PollResponse>(await poll({}, token));
    expect(Object.keys(empty.channels)).toEqual(['user:inbox-owner']);
    const before = messagesOf(empty.channels['user:inbox-owner']);
    // Never written: the unwritten epoch at head 0, and nothing stored for it.
    expect(before).toEqual({ epoch: UNWRITTEN_EPOCH, messages: [], upTo: 0 });

    await srv.server.publishMany([
      { channel: 'user:inbox-owner', type: 'n', data: 1 },
      { channel: 'user:inbox-owner', type: 'n', data: 2 },
    ]);
    const later = okBody<PollResponse>(await poll({ positions: {} }, token));
    const { epoch } = messagesOf(later.channels['user:inbox-owner']);
    expect(epoch).not.toBe(UNWRITTEN_EPOCH);
    expect(messagesOf(later.channels['user:inbox-owner'])).toEqual({ epoch, messages: [], upTo: 2 });
    // The unwritten position (offset 0) is served by the first real epoch: messages, no resync.
    const caughtUp = okBody<PollResponse>(
      await poll({ positions: { 'user:inbox-owner': { epoch: before.epoch, offset: before.upTo } } }, token),
    );
    expect(messagesOf(caughtUp.channels['user:inbox-owner'])).toMatchObject({ epoch, upTo: 2 });
    expect(messagesOf(caughtUp.channels['user:inbox-owner']).messages.map((m) => m.offset)).toEqual([1, 2]);

    // Alongside other channels too, and from a position it replays like any channel.
    const channel = fresh('room');
    const mixed = okBody<PollResponse>(
      await poll(
        { positions: { [channel]: { offset: 0 }, 'user:u1': { offset: 0 } } },
        await srv.token({ sub: 'u1', channels: ['room:*'] }),
      ),
    );
    expect(Object.keys(mixed.channels).sort()).toEqual([channel, 'user:u1'].sort());
    const fromZero = okBody<PollResponse>(await poll({ positions: { 'user:inbox-owner': { offset: 0 } } }, token));
    expect(messagesOf(fromZero.channels['user:inbox-owner']).messages.map((m) => m.data)).toEqual([1, 2]);
  });

  it('answers resync for a position of another epoch or ahead of the head', async () => {
    const channel = fresh('room');
    const { epoch } = await srv.server.publish({ channel, type: 't', data: 1 });
    const answer = okBody<PollResponse>(
      await poll({ positions: { [channel]: { epoch: 'not-the-epoch', offset: 1 } } }),
    );
    expect(answer.channels[channel]).toEqual({ resync: { epoch, offset: 1 } });
    const ahead = okBody<PollResponse>(await poll({ positions: { [channel]: { epoch, offset: 5 } } }));
    expect(ahead.channels[channel]).toEqual({ resync: { epoch, offset: 1 } });
  });

  it('long-poll answers promptly when a publish lands after the poll started', async () => {
    const channel = fresh('room');
    const token = await srv.token({ sub: 'lp1', channels: ['room:*'] });
    const start = okBody<PollResponse>(await poll({ positions: { [channel]: { offset: 0 } } }, token));
    const positions = Object.fromEntries(
      Object.entries(start.channels).map(([ch, e]) => [ch, { epoch: messagesOf(e).epoch, offset: messagesOf(e).upTo }]),
    );

    const began = Date.now();
    const pending = poll({ positions, wait: 5 }, token);
    await new Promise((r) => setTimeout(r, 300));
    const published = okBody<PublishAnswer>(await publish({ channel, type: 'late', data: 'x' }));
    const answer = okBody<PollResponse>(await pending);
    const elapsed = Date.now() - began;

    expect(elapsed, 'the poll must have waited for the publish').toBeGreaterThanOrEqual(250);
    expect(elapsed, 'the poll must answer promptly once something is new').toBeLessThan(2000);
    const got = messagesOf(answer.channels[channel]);
    expect(got.messages.map((m) => [m.offset, m.type, m.data])).toEqual([[published.offset, 'late', 'x']]);
    expect(got.upTo).toBe(published.offset);
    expect(messagesOf(answer.channels['user:lp1']).messages).toEqual([]);
  });

  it('long-poll answers after about `wait` when nothing happens', async () => {
    const channel = fresh('room');
    const token = await srv.token({ sub: 'lp2', channels: ['room:*'] });
    const start = okBody<PollResponse>(await poll({ positions: { [channel]: { offset: 0 } } }, token));
    const positions = Object.fromEntries(
      Object.entries(start.channels).map(([ch, e]) => [ch, { epoch: messagesOf(e).epoch, offset: messagesOf(e).upTo }]),
    );
    // Traffic elsewhere must not wake it.
    const elsewhere = setTimeout(() => void srv.server.publish({ channel: fresh('room'), type: 'x', data: 0 }), 300);

    const began = Date.now();
    const answer = okBody<PollResponse>(await poll({ positions, wait: 2 }, token));
    const elapsed = Date.now() - began;
    clearTimeout(elsewhere);

    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(3500);
    for (const [ch, position] of Object.entries(positions)) {
      expect(answer.channels[ch]).toEqual({ epoch: position.epoch, messages: [], upTo: position.offset });
    }
  });
});

// ---- ack and health ----------------------------------------------------------------------------

describe('POST /v1/ack, /healthz, /readyz', () => {
  it('acks clamp to the head, never move back, and move stats().acked', async () => {
    const channel = fresh('room');
    await srv.server.publishMany([1, 2, 3].map((n) => ({ channel, type: 't', data: n })));
    const acked0 = srv.server.stats().acked;

    expect(okBody(await ack({ acks: { [channel]: 2 }, deviceId: 'dev-a' }))).toEqual({ acks: { [channel]: 2 } });
    expect(srv.server.stats().acked).toBe(acked0 + 2);

    expect(okBody(await ack({ acks: { [channel]: 99 }, deviceId: 'dev-a' }))).toEqual({ acks: { [channel]: 3 } });
    expect(srv.server.stats().acked).toBe(acked0 + 3);

    await ack({ acks: { [channel]: 1 }, deviceId: 'dev-a' });
    expect(srv.server.stats().acked, 'an ack below the last one covers nothing new').toBe(acked0 + 3);

    // The inbox and several channels in one call; another device counts on its own.
    const answer = okBody<{ acks: Record<string, number> }>(
      await ack({ acks: { [channel]: 3, 'user:u1': 5 }, deviceId: 'dev-b' }),
    );
    expect(answer.acks[channel]).toBe(3);
    expect(answer.acks['user:u1']).toBe((await logOf('user:u1')).upTo);
  });

  it('GET /healthz and /readyz answer 200', async () => {
    const health = await request('/healthz', { method: 'GET' });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await request('/readyz', { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });
});

// ---- refusals ------------------------------------------------------------------------------------

describe('refusals: documented code and status, nothing changed', () => {
  /** Runs a refused request and checks that nothing was appended anywhere and the channel is as before. */
  async function refusedWithoutEffect(channel: string, send: () => Promise<HttpAnswer>, code: ErrorCode) {
    const before = await logOf(channel);
    const stats0 = srv.server.stats();
    const answer = await send();
    const message = expectError(answer, code);
    const stats1 = srv.server.stats();
    expect(stats1.published).toBe(stats0.published);
    expect(stats1.acked).toBe(stats0.acked);
    expect(await logOf(channel)).toEqual(before);
    return message;
  }

  it('publish without a valid API key → 401 unauthorized', async () => {
    const channel = fresh('room');
    const body = { channel, type: 't', data: 1 };
    await refusedWithoutEffect(channel, () => request('/v1/publish', { json: body }), 'unauthorized');
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: bearer('tk_not_a_key_at_all_0000') }),
      'unauthorized',
    );
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: `Basic ${srv.apiKey}` }),
      'unauthorized',
    );
    await refusedWithoutEffect(
      channel,
      () => request('/v1/publish', { json: body, authorization: 'Bearer' }),
      'unauthorized',
    );
    // A user token is not an API key.
    await refusedWithoutEffect(channel, () => publish(body, userToken), 'unauthorized');
  });

  it('poll and ack without a valid user token → 401 unauthorized; an expired one → 401 token_expired', async () => {
    const channel = fresh('room');
    const positions = { [channel]: { offset: 0 } };
    const otherSecret = await issueToken({ secret: 'another-secret-entirely-0123456789', sub: 'u1' });
    const expired = await srv.token({
      sub: 'u1',
      channels: ['room:*'],
      ttlSeconds: 60,
      now: () => Date.now() - 3_600_000,
    });
    for (const path of ['/v1/poll', '/v1/ack']) {
      const json = path === '/v1/poll' ? { positions } : { acks: { [channel]: 0 } };
      await refusedWithoutEffect(channel, () => request(path, { json }), 'unauthorized');
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer('garbage') }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(srv.apiKey) }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(otherSecret) }),
        'unauthorized',
      );
      await refusedWithoutEffect(
        channel,
        () => request(path, { json, authorization: bearer(expired) }),
        'token_expired',
      );
    }
  });

  it('malformed JSON, a missing body and a non-JSON content type → 400 bad_request', async () => {
    const channel = fresh('room');
    const calls: [string, string][] = [
      ['/v1/publish', bearer(srv.apiKey)],
      ['/v1/poll', bearer(userToken)],
      ['/v1/ack', bearer(userToken)],
    ];
    for (const [path, authorization] of calls) {
      for (const raw of [`{"channel":"${channel}",`, '{]', 'nul', '"just a string', '{"a":1}}']) {
        await refusedWithoutEffect(channel, () => request(path, { authorization, raw }), 'bad_request');
      }
      await refusedWithoutEffect(channel, () => request(path, { authorization, raw: '' }), 'bad_request');
      await refusedWithoutEffect(channel, () => request(path, { authorization }), 'bad_request');
      await refusedWithoutEffect(
        channel,
        () =>
          request(path, {
            authorization,
            raw: JSON.stringify({ channel, type: 't', data: 1 }),
            contentType: 'text/plain',
          }),
        'bad_request',
      );
    }
  });

  it('wrong types and unknown fields → 400 bad_request', async () => {
    const channel = fresh('room');
    const good = { channel, type: 't', data: 1 };
    const badPublishes: unknown[] = [
      [],
      'text',
      42,
      null,
      { ...good, channel: 5 },
      { ...good, type: '' },
      { ...good, type: 7 },
      { channel, data: 1 },
      { channel, type: 't' },
      { ...good, id: '' },
      { ...good, id: 12 },
      { ...good, ttl: 0 },
      { ...good, ttl: 1.5 },
      { ...good, ttl: '100' },
      { ...good, critical: 'yes' },
      { ...good, collapseKey: '' },
      { ...good, extra: true },
      { ...good, offset: 1 },
    ];
    for (const body of badPublishes) {
      await refusedWithoutEffect(channel, () => publish(body), 'bad_request');
    }
    const badPolls: unknown[] = [
      [],
      { positions: [] },
      { positions: { [channel]: 3 } },
      { positions: { [channel]: { offset: -1 } } },
      { positions: { [channel]: { offset: 1.5 } } },
      { positions: { [channel]: { offset: 0, extra: 1 } } },
      { positions: { [channel]: { epoch: '', offset: 0 } } },
      { wait: 'soon' },
      { wait: -1 },
      { wait: 61 },
      { positions: {}, since: 0 },
    ];
    for (const body of badPolls) {
      await refusedWithoutEffect(channel, () => poll(body), 'bad_request');
    }
    const badAcks: unknown[] = [
      {},
      { acks: [] },
      { acks: 'all' },
      { acks: { [channel]: -1 } },
      { acks: { [channel]: '2' } },
      { acks: { [channel]: 1.5 } },
      { acks: { [channel]: 1 }, deviceId: '' },
      { acks: { [channel]: 1 }, extra: 1 },
    ];
    for (const body of badAcks) {
      await refusedWithoutEffect(channel, () => ack(body), 'bad_request');
    }
  });

  it('invalid channel or tenant names → 400 invalid_channel', async () => {
    const channel = fresh('room');
    for (const name of ['room/x', '', 'has space', 'a'.repeat(201), 'ünicode', 'a\nb', '../etc']) {
      await refusedWithoutEffect(channel, () => publish({ channel: name, type: 't', data: 1 }), 'invalid_channel');
      await refusedWithoutEffect(channel, () => poll({ positions: { [name]: { offset: 0 } } }), 'invalid_channel');
      await refusedWithoutEffect(channel, () => ack({ acks: { [name]: 1 } }), 'invalid_channel');
    }
    // `__proto__` is no channel name (as a JSON key it would set a prototype); as a key the JSON
    // parser already refuses it.
    await refusedWithoutEffect(channel, () => publish({ channel: '__proto__', type: 't', data: 1 }), 'invalid_channel');
    for (const raw of ['{"positions":{"__proto__":{"offset":0}}}', '{"acks":{"__proto__":1}}']) {
      const path = raw.includes('positions') ? '/v1/poll' : '/v1/ack';
      await refusedWithoutEffect(
        channel,
        () => request(path, { authorization: bearer(userToken), raw }),
        'bad_request',
      );
    }
    for (const tenant of ['a/b', '', 'x:y', 't'.repeat(65)]) {
      await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: 1, tenant }), 'invalid_channel');
    }
  });

  it('data over maxPayloadBytes → 413 payload_too_large (and a body over the body limit too)', async () => {
    const channel = fresh('room');
    const just = 'x'.repeat(MAX_PAYLOAD - 2); // JSON adds the two quotes: exactly at the limit
    const ok = okBody<PublishAnswer>(await publish({ channel, type: 't', data: just }));
    expect(ok.offset).toBe(1);
    const over = 'x'.repeat(MAX_PAYLOAD - 1);
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: over }), 'payload_too_large');
    // Multi-byte characters count as bytes, not characters.
    const euros = '€'.repeat(Math.ceil(MAX_PAYLOAD / 3));
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: { euros } }), 'payload_too_large');
    const huge = 'y'.repeat(MAX_PAYLOAD * 40);
    await refusedWithoutEffect(channel, () => publish({ channel, type: 't', data: huge }), 'payload_too_large');
  });

  it('poll or ack of a channel the token does not allow → 403 forbidden, and nothing is acked', async () => {
    const channel = fresh('room');
    await srv.server.publishMany([1, 2].map((n) => ({ channel, type: 't', data: n })));
    const secret = fresh('secret');
    await srv.server.publish({ channel: secret, type: 't', data: 'hidden' });
    await refusedWithoutEffect(secret, () => poll({ positions: { [secret]: { offset: 0 } } }), 'forbidden');
    await refusedWithoutEffect(
      secret,
      () => poll({ positions: { [channel]: { offset: 0 }, [secret]: { offset: 0 } } }),
      'forbidden',
    );
    await refusedWithoutEffect(secret, () => poll({ positions: { 'user:someone-else': { offset: 0 } } }), 'forbidden');
    // One forbidden channel refuses the whole ack: the allowed one is not recorded either.
    await refusedWithoutEffect(
      channel,
      () => ack({ acks: { [channel]: 2, [secret]: 1 }, deviceId: 'd-f' }),
      'forbidden',
    );
    const acked0 = srv.server.stats().acked;
    okBody(await ack({ acks: { [channel]: 2 }, deviceId: 'd-f' }));
    expect(srv.server.stats().acked, 'the refused ack recorded nothing, so this one covers 2').toBe(acked0 + 2);
  });

  it('an unknown route or method → 404 not_found', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['POST', '/v1/nothing'],
      ['GET', '/v1/publish'],
      ['GET', '/v1/poll'],
      ['DELETE', '/v1/ack'],
      ['POST', '/healthz'],
      ['GET', '/'],
    ] as const) {
      const answer = await request(path, { method, authorization: bearer(srv.apiKey) });
      const message = expectError(answer, 'not_found');
      expect(message).toContain(path);
    }
  });
});
