/**
 * A server (or a proxy) that sends what the protocol does not allow must not crash the client or
 * corrupt its positions: each bad frame is dropped whole and reported as `protocol_error`, and a
 * message it carried is fetched again. The real server never sends such frames, so a tiny plain
 * Socket.IO server plays one here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Server, type Socket } from 'socket.io';
import { issueToken } from '@tether/server';
import { waitUntil } from '@tether/testing';
import { ClientState, ErrorCode, type ClientErrorContext, type Message } from '@tether/client';
import { Clients, fast, sleep } from './helpers.js';

const clients = new Clients();
let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await clients.closeAll();
  await closeServer?.();
});

const EPOCH = 'epoch-1';
const envelope = (offset: number) => ({ id: `m${offset}`, offset, type: 't', data: { offset }, ts: Date.now() });

/** A Socket.IO server that speaks just enough of the protocol, and lets the test emit anything. */
async function fakeServer() {
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  const log = [1, 2, 3, 4].map(envelope);
  const acks: Record<string, number>[] = [];
  const subs: unknown[] = [];
  let current: Socket | undefined;
  io.on('connection', (socket) => {
    current = socket;
    socket.on('sub', (frame: { channel: string; since?: { offset: number } }, reply: (r: unknown) => void) => {
      subs.push(frame);
      const after = frame.since?.offset ?? log.length;
      // A resume: the replay batch first, then the reply, as the real server does.
      if (frame.since)
        socket.emit('msg', { channel: frame.channel, epoch: EPOCH, messages: log.slice(after), upTo: log.length });
      reply({ channel: frame.channel, epoch: EPOCH, offset: log.length });
    });
    socket.on('unsub', (_frame: unknown, reply?: (r: unknown) => void) => reply?.({}));
    socket.on('probe', (frame: { ts: number }, reply: (r: unknown) => void) =>
      reply({ ts: frame.ts, serverTs: Date.now() }),
    );
    socket.on('ack', (frame: { acks: Record<string, number> }) => acks.push(frame.acks));
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  closeServer = () => new Promise<void>((resolve) => void io.close(() => resolve()));
  return {
    url,
    acks,
    subs,
    emit: (event: string, frame: unknown) => current!.emit(event, frame),
  };
}

describe('malformed frames from the server', () => {
  it('are reported as protocol_error, never crash the client, never move a position; the lost message is fetched again', async () => {
    const server = await fakeServer();
    const token = await issueToken({ secret: 'not-checked-by-the-client', sub: 'u1' });
    const client = clients.make({ url: server.url, token, ...fast, gapTimeoutMs: 100 });
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    const handled: Message[] = [];
    const sub = client.subscribe('feed:m', (m) => void handled.push(m), { since: { epoch: EPOCH, offset: 0 } });
    await client.connect();

    const channel = 'feed:m';
    server.emit('msg', { channel, epoch: EPOCH, messages: [envelope(1)] });
    await waitUntil(() => (handled.length === 1 ? true : undefined));

    const bad: unknown[] = [
      null,
      'a string',
      42,
      [],
      { channel, epoch: EPOCH, messages: 'not a list' },
      { channel, epoch: EPOCH, messages: [{ ...envelope(2), offset: -5 }] },
      { channel, epoch: EPOCH, messages: [{ ...envelope(2), offset: 1e300 }] },
      { channel, epoch: EPOCH, messages: [{ ...envelope(2), offset: '2' }] },
      { channel, epoch: EPOCH, messages: [{ offset: 2, type: 't', data: 1, ts: 1 }] }, // no id
      { channel, epoch: EPOCH, messages: [{ ...envelope(2), extra: true }] },
      { channel, epoch: '', messages: [envelope(2)] },
      { channel: 'bad/name', epoch: EPOCH, messages: [envelope(2)] },
      { channel: '__proto__', epoch: EPOCH, messages: [envelope(2)] },
      { channel, epoch: EPOCH, messages: [envelope(2)], upTo: -1 },
    ];
    for (const frame of bad) server.emit('msg', frame);
    server.emit('resync', { channel, epoch: 7, offset: 'x' });
    server.emit('error', 'not an error frame');
    // Offset 2 was only in malformed frames: 3 arrives ahead of the position, waits, and the gap is asked for.
    server.emit('msg', { channel, epoch: EPOCH, messages: [envelope(3)] });
    server.emit('msg', { channel, epoch: EPOCH, messages: [envelope(4)] });

    await waitUntil(() => (handled.length === 4 ? true : undefined), 5000, 'all four handled');
    await sleep(200);
    expect(handled.map((m) => m.offset)).toEqual([1, 2, 3, 4]);
    expect(sub.position).toEqual({ epoch: EPOCH, offset: 4 });
    expect(client.status).toBe(ClientState.Connected);

    const protocolErrors = errors.filter((e) => e.error.code === ErrorCode.ProtocolError);
    expect(protocolErrors).toHaveLength(bad.length + 2);
    expect(protocolErrors.filter((e) => e.channel === channel)).toHaveLength(9);
    expect(client.metrics()).toMatchObject({ protocolErrors: bad.length + 2, handled: 4 });
    expect(client.metrics().gapsRequested).toBeGreaterThanOrEqual(1);
    expect(server.subs).toContainEqual({ channel, since: { epoch: EPOCH, offset: 1 } });
    await waitUntil(() => (server.acks.some((a) => a[channel] === 4) ? true : undefined), 3000, 'acked');
    expect(Math.max(...server.acks.map((a) => a[channel] ?? 0))).toBe(4);
  });

  it('typing and read notices are checked: a malformed one is a protocol_error and reaches no listener', async () => {
    const server = await fakeServer();
    const token = await issueToken({ secret: 'not-checked-by-the-client', sub: 'u1' });
    const client = clients.make({ url: server.url, token, ...fast });
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    const channel = 'room:x';
    const sub = client.subscribe(channel, () => undefined);
    const typing: unknown[] = [];
    const reads: unknown[] = [];
    sub.on('typing', (c) => typing.push(c));
    sub.on('read', (c) => reads.push(c));
    await client.connect();
    await waitUntil(() => (sub.state === 'subscribed' ? true : undefined));

    const badTyping = [
      null,
      { channel },
      { channel, sub: '' },
      { channel: 'a/b', sub: 'x' },
      { channel, sub: 'x', more: 1 },
    ];
    const badRead = [
      { channel, sub: 'x' },
      { channel, sub: 'x', offset: 0 },
      { channel, sub: 'x', offset: 1.5 },
      'read',
    ];
    for (const frame of badTyping) server.emit('typing', frame);
    for (const frame of badRead) server.emit('read', frame);
    server.emit('typing', { channel, sub: 'bob' });
    server.emit('read', { channel, sub: 'bob', offset: 3 });
    await waitUntil(() => (reads.length === 1 ? true : undefined));
    expect(typing).toEqual([{ channel, sub: 'bob' }]);
    expect(reads).toEqual([{ channel, sub: 'bob', offset: 3 }]);
    expect(errors.filter((e) => e.error.code === ErrorCode.ProtocolError)).toHaveLength(
      badTyping.length + badRead.length,
    );
    expect(client.status).toBe(ClientState.Connected);
  });
});

describe('malformed presence frames from the server', () => {
  it('are dropped as protocol_error; the member list stays as the last valid frame left it', async () => {
    const server = await fakeServer();
    const token = await issueToken({ secret: 'not-checked-by-the-client', sub: 'u1' });
    const client = clients.make({ url: server.url, token, ...fast, presence: { trackActivity: false } });
    const errors: ClientErrorContext[] = [];
    client.on('error', (e) => errors.push(e));
    const channel = 'room:m';
    const sub = client.subscribe(channel, () => {});
    let lists = 0;
    sub.on('members', () => void lists++);
    await client.connect();
    const ann = { sub: 'ann', status: 'online', devices: 1 };
    server.emit('presence', { channel, count: 1, members: [ann] });
    await waitUntil(() => (sub.memberCount === 1 ? true : undefined));

    const bad: unknown[] = [
      null,
      [],
      { channel, count: -1, join: [] },
      { channel, count: 2, join: [{ sub: 'bob', status: 'offline', devices: 1 }] },
      { channel, count: 2, join: [{ sub: 'bob', status: 'online', devices: 1, extra: 1 }] },
      { channel, count: 0, leave: [5] },
      { channel, count: 0, leave: 'ann' },
      { channel: 'bad/name', count: 0, leave: ['ann'] },
      { channel, count: 1, update: [{ sub: '', status: 'busy', devices: 1 }] },
      { channel, count: 1, members: [ann], extra: true },
    ];
    for (const frame of bad) server.emit('presence', frame);
    server.emit('presence', { channel, count: 2, join: [{ sub: 'bob', status: 'busy', devices: 2 }] });
    await waitUntil(() => (sub.memberCount === 2 ? true : undefined));
    expect(sub.members()).toEqual([ann, { sub: 'bob', status: 'busy', devices: 2 }]);
    expect(lists).toBe(2);
    expect(errors.filter((e) => e.error.code === ErrorCode.ProtocolError)).toHaveLength(bad.length);
    expect(client.metrics().protocolErrors).toBe(bad.length);
    expect(client.status).toBe(ClientState.Connected);
  });
});
