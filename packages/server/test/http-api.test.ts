/**
 * The HTTP API through real `fetch` against a real server: publish with an API key, the stateless
 * fallback (poll, long-poll, ack) and health. Every documented refusal: http-api-refusals.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorReply } from '@tether/testing';
import { UNWRITTEN_EPOCH, type Envelope, type PollResponse, type Position } from '@tether/protocol';
import { HttpApiFixture, fresh, messagesOf, okBody, type PublishAnswer } from './http-api-helpers.js';

const api = new HttpApiFixture();
const { request, publish, poll, ack, logOf, connected } = api;

beforeAll(() => api.start());
afterAll(() => api.close());

// ---- publish -----------------------------------------------------------------------------------

describe('POST /v1/publish', () => {
  it('appends, answers {offset, epoch, duplicate:false}, and a subscribed socket receives it', async () => {
    const channel = fresh('room');
    const c = await connected();
    const sub = await c.sub(channel);
    expect(isErrorReply(sub)).toBe(false);
    const before = api.srv.server.stats().published;

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
    expect(api.srv.server.stats().published).toBe(before + 2);
  });

  it('a repeated id answers the first offset with duplicate:true and delivers nothing new', async () => {
    const channel = fresh('room');
    const c = await connected();
    await c.sub(channel);
    const stats0 = api.srv.server.stats();

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
    const stats1 = api.srv.server.stats();
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
    const results = await api.srv.server.publishMany(inputs);
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
    const token = await api.srv.token({ sub: 'inbox-owner' });
    const empty = okBody<PollResponse>(await poll({}, token));
    expect(Object.keys(empty.channels)).toEqual(['user:inbox-owner']);
    const before = messagesOf(empty.channels['user:inbox-owner']);
    // Never written: the unwritten epoch at head 0, and nothing stored for it.
    expect(before).toEqual({ epoch: UNWRITTEN_EPOCH, messages: [], upTo: 0 });

    await api.srv.server.publishMany([
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
        await api.srv.token({ sub: 'u1', channels: ['room:*'] }),
      ),
    );
    expect(Object.keys(mixed.channels).sort()).toEqual([channel, 'user:u1'].sort());
    const fromZero = okBody<PollResponse>(await poll({ positions: { 'user:inbox-owner': { offset: 0 } } }, token));
    expect(messagesOf(fromZero.channels['user:inbox-owner']).messages.map((m) => m.data)).toEqual([1, 2]);
  });

  it('answers resync for a position of another epoch or ahead of the head', async () => {
    const channel = fresh('room');
    const { epoch } = await api.srv.server.publish({ channel, type: 't', data: 1 });
    const answer = okBody<PollResponse>(
      await poll({ positions: { [channel]: { epoch: 'not-the-epoch', offset: 1 } } }),
    );
    expect(answer.channels[channel]).toEqual({ resync: { epoch, offset: 1 } });
    const ahead = okBody<PollResponse>(await poll({ positions: { [channel]: { epoch, offset: 5 } } }));
    expect(ahead.channels[channel]).toEqual({ resync: { epoch, offset: 1 } });
  });

  it('long-poll answers promptly when a publish lands after the poll started', async () => {
    const channel = fresh('room');
    const token = await api.srv.token({ sub: 'lp1', channels: ['room:*'] });
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
    const token = await api.srv.token({ sub: 'lp2', channels: ['room:*'] });
    const start = okBody<PollResponse>(await poll({ positions: { [channel]: { offset: 0 } } }, token));
    const positions = Object.fromEntries(
      Object.entries(start.channels).map(([ch, e]) => [ch, { epoch: messagesOf(e).epoch, offset: messagesOf(e).upTo }]),
    );
    // Traffic elsewhere must not wake it.
    const elsewhere = setTimeout(
      () => void api.srv.server.publish({ channel: fresh('room'), type: 'x', data: 0 }),
      300,
    );

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
    await api.srv.server.publishMany([1, 2, 3].map((n) => ({ channel, type: 't', data: n })));
    const acked0 = api.srv.server.stats().acked;

    expect(okBody(await ack({ acks: { [channel]: 2 }, deviceId: 'dev-a' }))).toEqual({ acks: { [channel]: 2 } });
    expect(api.srv.server.stats().acked).toBe(acked0 + 2);

    expect(okBody(await ack({ acks: { [channel]: 99 }, deviceId: 'dev-a' }))).toEqual({ acks: { [channel]: 3 } });
    expect(api.srv.server.stats().acked).toBe(acked0 + 3);

    await ack({ acks: { [channel]: 1 }, deviceId: 'dev-a' });
    expect(api.srv.server.stats().acked, 'an ack below the last one covers nothing new').toBe(acked0 + 3);

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
