/**
 * `msg` frames are encoded once by the server (delivery/msg-frame.ts) and written pre-encoded:
 * the text must be what Socket.IO's own encoder gives for `emit('msg', frame)`, and every path
 * (live, ring replay, store replay, redelivery) must put the same content on the wire as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Encoder, PacketType } from 'socket.io-parser';
import { TestBed, connectClient, waitUntil, type TestServer } from '@tether/testing';
import { ErrorCode, type MsgFrame } from '@tether/protocol';
import { MemoryLogStore, type StoredMessage } from '@tether/server';
import { envelopeJson, envelopeOf, envelopesOf, msgPacketText } from '../../src/delivery/msg-frame.js';
import { RawReaders } from './raw-reader.js';

let server: TestServer;
const bed = new TestBed();
const readers = new RawReaders();
afterEach(async () => {
  readers.closeAll();
  await bed.close();
});

const storedMessage: fc.Arbitrary<StoredMessage> = fc.record(
  {
    id: fc.string({ minLength: 1, maxLength: 40 }),
    type: fc.string({ minLength: 1, maxLength: 20 }),
    data: fc.jsonValue(),
    ts: fc.integer({ min: 0, max: 2 ** 45 }),
    ttl: fc.integer({ min: 1, max: 10 ** 9 }),
    critical: fc.boolean(),
    collapseKey: fc.string({ minLength: 1, maxLength: 20 }),
    offset: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  },
  { requiredKeys: ['id', 'type', 'data', 'ts', 'offset'] },
);

/** What Socket.IO's encoder writes for `socket.emit('msg', frame)` in namespace `nsp`. */
function socketIoText(nsp: string, frame: MsgFrame): string {
  const [text] = new Encoder().encode({ type: PacketType.EVENT, nsp, data: ['msg', frame] });
  return text as string;
}

describe('msg frame encoding', () => {
  it('gives the bytes JSON.stringify gives for any envelope (keys, order, escapes), expiresAt last when a ttl applies', () => {
    fc.assert(
      fc.property(storedMessage, (message) => {
        expect(envelopeJson(message)).toBe(JSON.stringify(envelopeOf(message)));
        if (message.ttl !== undefined)
          expect(JSON.parse(envelopeJson(message)).expiresAt).toBe(message.ts + message.ttl);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the bytes of socket.io-parser for emit("msg", frame), with and without upTo and from, any namespace', () => {
    const frameArb = fc.record(
      {
        channel: fc.string({ minLength: 1, maxLength: 30 }),
        epoch: fc.string({ minLength: 1, maxLength: 30 }),
        messages: fc.array(storedMessage, { maxLength: 5 }),
        upTo: fc.integer({ min: 0, max: 10 ** 9 }),
        from: fc.integer({ min: 1, max: 10 ** 9 }),
      },
      { requiredKeys: ['channel', 'epoch', 'messages'] },
    );
    fc.assert(
      fc.property(frameArb, fc.constantFrom('/', '/admin'), (frame, nsp) => {
        const ordered: MsgFrame = { channel: frame.channel, epoch: frame.epoch, messages: frame.messages };
        if (frame.upTo !== undefined) ordered.upTo = frame.upTo;
        if (frame.from !== undefined) ordered.from = frame.from;
        const onTheWire: MsgFrame = { ...ordered, messages: frame.messages.map(envelopeOf) };
        expect(msgPacketText(nsp, ordered, envelopesOf(ordered.messages))).toBe(socketIoText(nsp, onTheWire));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes `"data":null` for a message without data (the SDK requires the key)', () => {
    const message = { id: 'a', type: 't', data: undefined, ts: 1, offset: 1 };
    expect(JSON.parse(envelopeJson(message))).toEqual({ id: 'a', type: 't', data: null, ts: 1, offset: 1 });
  });
});

describe('msg frames on the wire', () => {
  const data = { text: 'quote " backslash \\ line\u2028sep', emoji: '🚕', nested: { list: [1, 2.5, null, true] } };

  /** What the wire carried before: `JSON.stringify` of the frame with the store's messages (plus `expiresAt`). */
  async function expected(
    store: MemoryLogStore,
    channel: string,
    after: number,
    upTo: number,
    extra: object = {},
  ): Promise<unknown> {
    const read = await store.read(`default/${channel}`, after, upTo - after);
    const messages = read.messages.map(envelopeOf);
    return JSON.parse(JSON.stringify({ channel, epoch: read.epoch, messages, ...extra }));
  }

  it('live and replayed frames (with the ring, and after a restart with an empty one) have the content JSON.stringify gave', async () => {
    const store = new MemoryLogStore({ maxMessages: 100 });
    server = await bed.start({ store });
    const channel = 'feed:wire';
    const live = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    await live.sub(channel);
    await server.server.publish({ channel, type: 'plain', data });
    await server.server.publish({ channel, type: 'full', data: [data], ttl: 60_000, critical: true, collapseKey: 'k' });
    await server.server.publishMany([
      { channel, type: 'a', data: 'x' },
      { channel, type: 'b', data: 0 },
    ]);
    await live.messages.waitForCount(4, { channel });
    expect(live.messages.frames).toEqual([
      await expected(store, channel, 0, 1),
      await expected(store, channel, 1, 2),
      await expected(store, channel, 2, 4),
    ]);

    // A resume while the ring holds the messages (the envelopes' texts come from it).
    const epoch = live.messages.frames[0]!.epoch;
    const withRing = await bed.connect({ sub: 'u2', channels: ['feed:*'] });
    await withRing.sub(channel, { epoch, offset: 1 });
    await withRing.messages.waitForCount(3, { channel });
    expect(withRing.messages.frames).toEqual([await expected(store, channel, 1, 4, { upTo: 4 })]);

    // Store replay: a new server on the same store has an empty ring; the replay carries upTo.
    await server.close();
    server = await bed.start({ store });
    const fromStore = await bed.connect({ sub: 'u3', channels: ['feed:*'] });
    await fromStore.sub(channel, { epoch, offset: 0 });
    await fromStore.messages.waitForCount(4, { channel });
    expect(fromStore.messages.frames).toEqual([await expected(store, channel, 0, 4, { upTo: 4 })]);
  });

  it('redelivered frames have the content JSON.stringify gave', async () => {
    const store = new MemoryLogStore({ maxMessages: 100 });
    server = await bed.start({ store, ackTimeoutMs: 200, retryAckTimeoutMs: 200, retryDelayMs: 50, maxRetries: 1 });
    const channel = 'feed:redo';
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    await c.sub(channel);
    await server.server.publish({ channel, type: 't', data, ttl: 60_000 });
    await server.server.publish({ channel, type: 't', data: [1, 'two'] });
    // Never acked: the sweeper sends both again, to this socket alone.
    await c.messages.waitForCount(4, { channel, timeoutMs: 5000 });
    expect(server.server.stats().redelivered).toBeGreaterThan(0);
    const [first, second, again] = c.messages.frames;
    expect([first, second]).toEqual([await expected(store, channel, 0, 1), await expected(store, channel, 1, 2)]);
    expect(again).toEqual(await expected(store, channel, 0, 2));
  });
});

describe('an inbox written straight to its socket', () => {
  it('delivers each message once to each device, and nothing to other users', async () => {
    server = await bed.start();
    const phone = await bed.connect({ sub: 'driver-1', channels: [] });
    const tablet = await bed.connect({ sub: 'driver-1', channels: [] });
    const other = await bed.connect({ sub: 'driver-2', channels: [] });
    const inbox = 'user:driver-1';
    for (let i = 0; i < 50; i++) void server.server.publish({ channel: inbox, type: 'trip:offer', data: { i } });
    for (let i = 0; i < 50; i++) await server.server.publish({ channel: inbox, type: 'trip:offer', data: { i } });
    for (const device of [phone, tablet]) {
      await device.messages.waitForCount(100, { channel: inbox });
      expect(device.messages.offsets(inbox)).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
    }
    expect(other.messages.messages).toEqual([]);
    expect(server.server.stats().delivered.live).toBe(200);
  });

  it('a device that stops reading its inbox is cut at maxQueuedBytes and resumes with 0 lost, 0 twice', async () => {
    server = await bed.start({ retention: { maxMessages: 5000 } });
    const token = await server.token({ sub: 'u1', channels: [] });
    const inbox = 'user:u1';
    const slow = await readers.connect({ url: server.url, token, deviceId: 'dev', positions: {} });
    await waitUntil(() => (server.server.stats().connections === 1 ? true : undefined));
    slow.stopReading();
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 400; i += 10) {
      await server.server.publishMany(Array.from({ length: 10 }, () => ({ channel: inbox, type: 'blob', data: big })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitUntil(() => (server.server.stats().slowConsumers === 1 ? true : undefined), 5000, 'the cut');
    slow.startReading();
    await slow.closed;
    const first = slow.positions.get(inbox) ?? { offset: 0 };
    expect(first.offset).toBeLessThan(400);
    const again = await readers.connect({ url: server.url, token, deviceId: 'dev', positions: { [inbox]: first } });
    await waitUntil(() => (again.positions.get(inbox)?.offset === 400 ? true : undefined), 10_000, 'the resume');
    expect(again.errors.map((e) => e.code)).toEqual([ErrorCode.SlowConsumer]);
    expect([...slow.violations, ...again.violations]).toEqual([]);
    const all = [...(slow.handled.get(inbox) ?? []), ...again.handled.get(inbox)!];
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it("its frames pass the SDK's frame guard", async () => {
    server = await bed.start();
    const token = await server.token({ sub: 'u9', channels: [] });
    const c = bed.adopt(await connectClient(server.url, token));
    await server.server.publish({ channel: 'user:u9', type: 't', data: { ok: true } });
    await c.messages.waitForCount(1);
    const { isMsgFrame } = await import('@tether/protocol/wire');
    expect(c.messages.frames.every((f) => isMsgFrame(f))).toBe(true);
  });
});
