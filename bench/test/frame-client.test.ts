import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameClient, socketUrl } from '../lib/frame-client.js';

// The loader is only as good as its parsing: check it against a real Socket.IO 4.8 server.
describe('bench light frame client', () => {
  let httpServer: http.Server;
  let io: Server;
  let port: number;
  const received: { event: string; args: unknown[]; auth: unknown }[] = [];

  beforeAll(async () => {
    httpServer = http.createServer();
    // A short ping interval so that the test also sees the client answer engine pings.
    io = new Server(httpServer, { pingInterval: 200, pingTimeout: 500 });
    io.on('connection', (socket) => {
      socket.on('ack', (frame: unknown) => received.push({ event: 'ack', args: [frame], auth: socket.handshake.auth }));
      socket.on('sub', (frame: { channel: string }, reply: (r: unknown) => void) =>
        reply({ channel: frame.channel, epoch: 'e1', offset: 0 }),
      );
      socket.emit('msg', {
        channel: 'bench:fanout',
        epoch: 'e1',
        messages: [
          { id: 'a', offset: 1, type: 'tick', data: { text: 'héllo "quoted"', n: 1 }, ts: 1 },
          { id: 'b', offset: 2, type: 'tick', data: { n: 2 }, ts: 2 },
        ],
      });
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    port = (httpServer.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await io.close();
  });

  it('connects with auth, parses an event, answers a request and sends an event', async () => {
    const events: { event: string; args: unknown[] }[] = [];
    let resolveMsg: () => void = () => undefined;
    const gotMsg = new Promise<void>((resolve) => (resolveMsg = resolve));
    const client = new FrameClient({
      url: socketUrl('127.0.0.1', port),
      auth: { token: 't0k', deviceId: 'd1' },
      onEvent: (event, args) => {
        events.push({ event, args });
        if (event === 'msg') resolveMsg();
      },
    });
    const connected = await client.connect(5000);
    expect(typeof connected.sid).toBe('string');
    expect(client.connected).toBe(true);

    await gotMsg;
    expect(events[0]?.event).toBe('msg');
    const frame = events[0]?.args[0] as { channel: string; messages: { offset: number; data: unknown }[] };
    expect(frame.channel).toBe('bench:fanout');
    expect(frame.messages.map((m) => m.offset)).toEqual([1, 2]);
    expect(frame.messages[0]?.data).toEqual({ text: 'héllo "quoted"', n: 1 });

    const reply = await client.request('sub', { channel: 'bench:fanout' }, 5000);
    expect(reply).toEqual([{ channel: 'bench:fanout', epoch: 'e1', offset: 0 }]);

    client.emit('ack', { acks: { 'bench:fanout': 2 } });
    // Stay connected over a few ping intervals: an unanswered ping would drop the socket.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(client.connected).toBe(true);
    expect(client.pings).toBeGreaterThan(1);
    expect(received).toEqual([
      { event: 'ack', args: [{ acks: { 'bench:fanout': 2 } }], auth: { token: 't0k', deviceId: 'd1' } },
    ]);
    client.close();
  });

  it('rejects on CONNECT_ERROR from a middleware', async () => {
    const nsp = io.of('/');
    nsp.use((socket, next) => next(socket.handshake.auth.token === 'bad' ? new Error('unauthorized') : undefined));
    const client = new FrameClient({ url: socketUrl('127.0.0.1', port), auth: { token: 'bad' } });
    await expect(client.connect(5000)).rejects.toThrow(/CONNECT_ERROR: unauthorized/);
  });
});
