import { afterEach, describe, expect, it } from 'vitest';
import {
  SlowStore,
  connectClient,
  TestBed,
  waitFor,
  waitUntil,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import type { MsgFrame, Position } from '@tether/protocol';
import { MemoryLogStore } from '@tether/server';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

/**
 * A client that behaves as the protocol asks: it handles frames in arrival order, refuses
 * anything that is not exactly position+1 (that would be a gap or a duplicate — recorded as a
 * violation), advances through `upTo`, and acks cumulatively.
 */
class StrictReader {
  position: Position = { offset: 0 };
  readonly handled: number[] = [];
  readonly violations: string[] = [];

  constructor(private readonly channel: string) {}

  attach(c: TestClient): void {
    c.socket.on('msg', (frame: MsgFrame) => {
      if (frame.channel !== this.channel) return;
      if (this.position.epoch !== undefined && frame.epoch !== this.position.epoch) {
        this.violations.push(`epoch changed without resync: ${frame.epoch}`);
      }
      for (const m of frame.messages) {
        if (m.offset !== this.position.offset + 1) {
          this.violations.push(`expected ${this.position.offset + 1}, got ${m.offset}`);
          continue;
        }
        this.handled.push(m.offset);
        this.position = { epoch: frame.epoch, offset: m.offset };
      }
      if (frame.upTo !== undefined && frame.upTo > this.position.offset) {
        this.position = { epoch: frame.epoch, offset: frame.upTo };
      }
      c.ack({ [this.channel]: this.position.offset });
    });
    c.socket.on('resync', (frame) => this.violations.push(`unexpected resync ${JSON.stringify(frame)}`));
  }
}

describe('resume from a position', () => {
  it('replays exactly what was missed, none twice, while publishes continue (20 reconnects, 2000 messages)', async () => {
    // Reads that take a while, as from a remote store, so live publishes land during every replay.
    const store = new SlowStore(new MemoryLogStore({ maxMessages: 5000 }), {
      readDelayMs: () => 2 + Math.random() * 15,
    });
    server = await bed.start({ store });
    const channel = 'feed:1';
    const reader = new StrictReader(channel);
    const token = await server.token({ sub: 'u1', channels: ['feed:*'] });

    let published = 0;
    const total = 2000;
    const publishing = (async () => {
      while (published < total) {
        const batch = Math.min(10, total - published);
        await server.server.publishMany(
          Array.from({ length: batch }, (_, i) => ({ channel, type: 'tick', data: { n: published + i + 1 } })),
        );
        published += batch;
        await new Promise((r) => setImmediate(r));
      }
    })();

    const connect = async (): Promise<TestClient> => {
      const positions = reader.position.epoch ? { [channel]: reader.position } : undefined;
      // Listen before the handshake completes: the replay follows it at once.
      const c = bed.adopt(await connectClient(server.url, token, { positions, wait: false }));
      reader.attach(c);
      await waitFor(c.socket, 'connect');
      if (!positions) await c.sub(channel, { offset: 0 });
      return c;
    };

    let current = await connect();
    for (let round = 0; round < 20; round++) {
      await waitUntil(() => (reader.handled.length > (round + 1) * 60 ? true : undefined), 5000, `round ${round}`);
      current.close();
      // Offline for a moment while messages keep coming.
      await new Promise((r) => setTimeout(r, 5 + (round % 4) * 10));
      current = await connect();
    }
    await publishing;
    await waitUntil(() => (reader.position.offset === total ? true : undefined), 10_000, 'all handled');
    expect(reader.violations).toEqual([]);
    expect(reader.handled).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    expect(server.server.stats().delivered.replay).toBeGreaterThan(0);
  });

  it('resumes through `sub` with since, then flows live', async () => {
    server = await bed.start();
    for (let i = 1; i <= 10; i++) await server.server.publish({ channel: 'feed:2', type: 't', data: i });
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    const reply = await c.sub('feed:2', { offset: 4 });
    expect(reply).toMatchObject({ channel: 'feed:2', offset: 10 });
    await c.messages.waitForCount(6);
    await server.server.publish({ channel: 'feed:2', type: 't', data: 11 });
    await c.messages.waitForCount(7);
    expect(c.messages.offsets('feed:2')).toEqual([5, 6, 7, 8, 9, 10, 11]);
    const replayFrame = c.messages.frames[0]!;
    expect(replayFrame.upTo).toBe(10);
  });

  it('a `sub` with since on a live subscription replays from since (a client filling a gap)', async () => {
    server = await bed.start();
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    await c.sub('feed:g');
    for (let i = 1; i <= 6; i++) await server.server.publish({ channel: 'feed:g', type: 't', data: i });
    await c.messages.waitForCount(6);
    expect(await c.sub('feed:g', { offset: 3 })).toMatchObject({ offset: 6 });
    await c.messages.waitForCount(9);
    expect(c.messages.offsets('feed:g')).toEqual([1, 2, 3, 4, 5, 6, 4, 5, 6]);
    expect(c.messages.frames.at(-1)!.upTo).toBe(6);
  });

  it('a subscription without a position starts at the head: no history', async () => {
    server = await bed.start();
    for (let i = 1; i <= 3; i++) await server.server.publish({ channel: 'feed:3', type: 't', data: i });
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    expect(await c.sub('feed:3')).toMatchObject({ offset: 3 });
    await server.server.publish({ channel: 'feed:3', type: 't', data: 4 });
    await c.messages.waitForCount(1);
    expect(c.messages.offsets('feed:3')).toEqual([4]);
  });

  it("subscribes the user's inbox automatically and resumes it from the handshake position", async () => {
    server = await bed.start();
    for (let i = 1; i <= 5; i++) await server.server.publish({ channel: 'user:ana', type: 't', data: i });
    const first = await bed.connect('ana');
    await server.server.publish({ channel: 'user:ana', type: 't', data: 6 });
    await first.messages.waitForCount(1);
    const epoch = first.messages.frames[0]!.epoch;
    first.close();
    const again = await bed.connect('ana', {
      positions: { 'user:ana': { epoch, offset: 2 } },
    });
    await again.messages.waitForCount(4);
    expect(again.messages.offsets('user:ana')).toEqual([3, 4, 5, 6]);
  });

  it('keeps no resume positions on the socket once the connection resumed from them (only who it is)', async () => {
    server = await bed.start();
    await server.server.publish({ channel: 'room:1', type: 't', data: 1 });
    const client = await bed.connect({ sub: 'ana', channels: ['room:*'] }, { positions: { 'room:1': { offset: 0 } } });
    await client.messages.waitForCount(1);
    const [socket] = await server.server.io.fetchSockets();
    expect(socket?.data).toMatchObject({ ctx: { sub: 'ana' } });
    expect((socket?.data as { positions?: unknown }).positions).toBeUndefined();
  });
});

describe('resync', () => {
  it('a position older than retention gets resync to the head, then live messages', async () => {
    server = await bed.start({ retention: { maxMessages: 10 } });
    for (let i = 1; i <= 50; i++) await server.server.publish({ channel: 'feed:r', type: 't', data: i });
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    const reply = await c.sub('feed:r', { offset: 2 });
    expect(reply).toMatchObject({ offset: 50 });
    expect(c.messages.resyncs).toHaveLength(1);
    expect(c.messages.resyncs[0]).toMatchObject({ channel: 'feed:r', offset: 50 });
    expect(c.messages.messages).toHaveLength(0);
    await server.server.publish({ channel: 'feed:r', type: 't', data: 51 });
    await c.messages.waitForCount(1);
    expect(c.messages.offsets('feed:r')).toEqual([51]);
    expect(server.server.stats().resyncs).toBe(1);
  });

  it('a position within retention is replayed, not resynced', async () => {
    server = await bed.start({ retention: { maxMessages: 10 } });
    for (let i = 1; i <= 50; i++) await server.server.publish({ channel: 'feed:r', type: 't', data: i });
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    await c.sub('feed:r', { offset: 40 });
    await c.messages.waitForCount(10);
    expect(c.messages.offsets('feed:r')).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    expect(c.messages.resyncs).toHaveLength(0);
  });

  it('a position of another epoch gets resync (socket and HTTP alike)', async () => {
    server = await bed.start();
    for (let i = 1; i <= 5; i++) await server.server.publish({ channel: 'feed:e', type: 't', data: i });
    const token = await server.token({ sub: 'u1', channels: ['feed:*'] });
    const c = bed.adopt(
      await connectClient(server.url, token, { positions: { 'feed:e': { epoch: 'old-life', offset: 3 } } }),
    );
    await waitUntil(() => c.messages.resyncs[0], 3000, 'resync');
    expect(c.messages.resyncs[0]).toMatchObject({ channel: 'feed:e', offset: 5 });
    expect(c.messages.resyncs[0]!.epoch).not.toBe('old-life');
    expect(c.messages.messages).toHaveLength(0);

    const polled = await fetch(`${server.url}/v1/poll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ positions: { 'feed:e': { epoch: 'old-life', offset: 3 } } }),
    }).then((r) => r.json() as Promise<{ channels: Record<string, unknown> }>);
    expect(polled.channels['feed:e']).toEqual({ resync: { epoch: c.messages.resyncs[0]!.epoch, offset: 5 } });
  });

  it('a position ahead of the head (the log was lost) gets resync', async () => {
    server = await bed.start();
    await server.server.publish({ channel: 'feed:a', type: 't', data: 1 });
    const c = await bed.connect({ sub: 'u1', channels: ['feed:*'] });
    await c.sub('feed:a', { offset: 99 });
    expect(c.messages.resyncs).toEqual([expect.objectContaining({ channel: 'feed:a', offset: 1 })]);
  });
});
