/**
 * Pre-encoded packets are written straight to the socket's `ws` sender when nothing Engine.IO holds
 * can be overtaken (delivery/websocket-writer.ts), and through Engine.IO otherwise. Real sockets:
 * the order is read by the client, the path by Engine.IO's public `flush` event (it fires for what
 * goes through Engine.IO's write buffer) and `packetCreate` (it fires for every packet).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io';
import { TestBed, waitUntil, type TestClient, type TestServer } from '@tether/testing';
import { EncodedPacket } from '../../src/delivery/encoded-packet.js';

const bed = new TestBed();
afterEach(() => bed.close());

function serverSocketOf(server: TestServer, client: TestClient): Socket {
  const socket = server.server.io.sockets.sockets.get(client.socket.id!);
  if (!socket) throw new Error('no server-side socket');
  return socket;
}

/** Every `probe` event the client receives, in order. */
function probesOf(client: TestClient): string[] {
  const seen: string[] = [];
  client.socket.onAny((event: string, value: unknown) => {
    if (event === 'probe') seen.push(String(value));
  });
  return seen;
}

/** Texts of the packets that went through Engine.IO's write buffer, and of every packet created. */
function watchEngine(socket: Socket): { flushed: string[]; created: string[] } {
  const flushed: string[] = [];
  const created: string[] = [];
  socket.conn.on('flush', (packets: { data?: unknown }[]) => {
    for (const p of packets) if (typeof p.data === 'string') flushed.push(p.data);
  });
  socket.conn.on('packetCreate', (p: { data?: unknown }) => {
    if (typeof p.data === 'string') created.push(p.data);
  });
  return { flushed, created };
}

const probe = (value: string): string => `2["probe","${value}"]`;

/** A server with one client: the client's socket on the server, the probes it saw, Engine.IO's view. */
async function oneClient(): Promise<{ socket: Socket; seen: string[]; engine: ReturnType<typeof watchEngine> }> {
  const server = await bed.start();
  const client = await bed.connect({ sub: 'u1' });
  const socket = serverSocketOf(server, client);
  return { socket, seen: probesOf(client), engine: watchEngine(socket) };
}

describe('pre-encoded packets on a websocket', () => {
  it('go past an idle Engine.IO, queue behind what it holds, and reach the client in the order written', async () => {
    const { socket, seen, engine } = await oneClient();

    // One synchronous step: Engine.IO's own packet first (its transport is then busy until ws calls
    // back), a pre-encoded one (Engine.IO holds nothing: straight to ws), Engine.IO's second (held
    // in its buffer while the transport is busy), a pre-encoded one that must wait behind it.
    socket.emit('probe', 'engine-1');
    expect(new EncodedPacket(probe('direct-1')).writeTo(socket)).toBe(true);
    socket.emit('probe', 'engine-2');
    expect(new EncodedPacket(probe('direct-2')).writeTo(socket)).toBe(true);

    await waitUntil(() => seen.length === 4 || undefined, 5000, 'four probes');
    expect(seen).toEqual(['engine-1', 'direct-1', 'engine-2', 'direct-2']);
    expect(engine.flushed).not.toContain(probe('direct-1'));
    expect(engine.flushed).toContain(probe('direct-2'));
    expect(engine.created.filter((t) => t.startsWith('2["probe"'))).toEqual([
      probe('engine-1'),
      probe('direct-1'),
      probe('engine-2'),
      probe('direct-2'),
    ]);
  });

  it('to one socket: the frame carries the text as it is, any length (7-, 16- and 64-bit lengths) and any UTF-8', async () => {
    const { socket, seen, engine } = await oneClient();
    // Payloads of 14 bytes (`4` + `2["probe","` + `"]`) plus the value: 125 and 126 bytes, 65,535 and
    // 65,536 (each header form's limits), and values whose UTF-8 length is not their string length
    // (é is 2 bytes, the emoji 4: 74 characters but 134 bytes must not get a 7-bit length).
    const values = [
      'a',
      'x'.repeat(111),
      'y'.repeat(112),
      'é'.repeat(60),
      '😀'.repeat(40),
      'z'.repeat(65_521),
      'w'.repeat(65_522),
      'é'.repeat(70_000),
    ];
    for (const value of values) expect(new EncodedPacket(probe(value)).writeTo(socket)).toBe(true);
    await waitUntil(() => seen.length === values.length || undefined, 5000, 'every probe');
    expect(seen).toEqual(values);
    expect(engine.flushed.filter((t) => t.startsWith('2["probe"'))).toEqual([]);
  });

  it('a broadcast to a room goes past Engine.IO to every member, each message once, in order', async () => {
    const server = await bed.start();
    const clients = [
      await bed.connect({ sub: 'a', channels: ['room:*'] }),
      await bed.connect({ sub: 'b', channels: ['room:*'] }),
    ];
    for (const c of clients) await c.sub('room:x');
    const engines = clients.map((c) => watchEngine(serverSocketOf(server, c)));
    for (let i = 1; i <= 5; i++) await server.server.publish({ channel: 'room:x', type: 't', data: i });
    for (const [k, c] of clients.entries()) {
      await c.messages.waitForCount(5, { channel: 'room:x' });
      expect(c.messages.offsets('room:x')).toEqual([1, 2, 3, 4, 5]);
      const msgs = (texts: string[]): string[] => texts.filter((t) => t.startsWith('2["msg"'));
      expect(msgs(engines[k]!.created)).toHaveLength(5);
      expect(msgs(engines[k]!.flushed)).toEqual([]);
    }
  });

  it('a client on HTTP long-polling gets them through Engine.IO', async () => {
    const server = await bed.start({ allowPollingTransport: true });
    const client = await bed.connect({ sub: 'u1', channels: ['room:*'] }, { transports: ['polling'] });
    await client.sub('room:x');
    const engine = watchEngine(serverSocketOf(server, client));
    await server.server.publish({ channel: 'room:x', type: 't', data: 1 });
    await client.messages.waitForCount(1, { channel: 'room:x' });
    expect(client.messages.offsets('room:x')).toEqual([1]);
    expect(engine.flushed.filter((t) => t.startsWith('2["msg"')).length).toBeGreaterThanOrEqual(1);
  });
});
