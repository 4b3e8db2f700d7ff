import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, isErrorReply, type TestClient, type TestServer } from '@tether/testing';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

async function client(claims = { sub: 'u1', channels: ['room:*'], publish: ['room:*'] }): Promise<TestClient> {
  const c = await bed.connect(claims);
  return c;
}

describe('per-channel order', () => {
  it('delivers every message of a channel once, in offset order, to every subscriber', async () => {
    server = await bed.start();
    const a = await client();
    const b = await client({ sub: 'u2', channels: ['room:*'], publish: [] });
    for (const c of [a, b]) expect(isErrorReply(await c.sub('room:1'))).toBe(false);

    // Interleave library publishes (not awaited, so many land in one tick) with socket publishes.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      pending.push(server.server.publish({ channel: 'room:1', type: 'n', data: { i } }));
      if (i % 50 === 0) pending.push(a.pub({ channel: 'room:1', type: 'n', data: { socket: i } }));
    }
    await Promise.all(pending);
    const total = 306;
    for (const c of [a, b]) {
      await c.messages.waitForCount(total, { channel: 'room:1' });
      expect(c.messages.offsets('room:1')).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    }
    // Library publishes of one caller keep their call order.
    const libraryOrder = a.messages.messages.filter((m) => (m.data as { i?: number }).i !== undefined);
    expect(libraryOrder.map((m) => (m.data as { i: number }).i)).toEqual(Array.from({ length: 300 }, (_, k) => k));
  });

  it('sends messages of one channel published in the same tick as one frame', async () => {
    server = await bed.start();
    const a = await client();
    await a.sub('room:batch');
    const results = await server.server.publishMany(
      Array.from({ length: 25 }, (_, i) => ({ channel: 'room:batch', type: 't', data: i })),
    );
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
    await a.messages.waitForCount(25, { channel: 'room:batch' });
    const frames = a.messages.frames.filter((f) => f.channel === 'room:batch');
    expect(frames).toHaveLength(1);
    expect(frames[0]!.messages.map((m) => m.offset)).toEqual(results.map((r) => r.offset));
  });

  it('keeps channels independent: each has its own offsets', async () => {
    server = await bed.start();
    const a = await client();
    await a.sub('room:a');
    await a.sub('room:b');
    for (let i = 0; i < 5; i++) {
      await server.server.publish({ channel: 'room:a', type: 't', data: i });
      await server.server.publish({ channel: 'room:b', type: 't', data: i });
    }
    await a.messages.waitForCount(10);
    expect(a.messages.offsets('room:a')).toEqual([1, 2, 3, 4, 5]);
    expect(a.messages.offsets('room:b')).toEqual([1, 2, 3, 4, 5]);
  });

  it('returns the first offset for a repeated publish id, from every entry point, and delivers once', async () => {
    server = await bed.start();
    const a = await client();
    await a.sub('room:idem');
    const first = await server.server.publish({ channel: 'room:idem', type: 't', data: 1, id: 'order-42' });
    const again = await server.server.publish({ channel: 'room:idem', type: 't', data: 2, id: 'order-42' });
    const bySocket = await a.pub({ channel: 'room:idem', type: 't', data: 3, id: 'order-42' });
    const byHttp = await fetch(`${server.url}/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ channel: 'room:idem', type: 't', data: 4, id: 'order-42' }),
    }).then((r) => r.json() as Promise<{ offset: number; duplicate: boolean }>);
    expect(first).toMatchObject({ offset: 1, duplicate: false });
    expect(again).toMatchObject({ offset: 1, duplicate: true });
    expect(bySocket).toMatchObject({ offset: 1 });
    expect(byHttp).toMatchObject({ offset: 1, duplicate: true });
    await server.server.publish({ channel: 'room:idem', type: 't', data: 5 });
    await a.messages.waitForCount(2, { channel: 'room:idem' });
    expect(a.messages.offsets('room:idem')).toEqual([1, 2]);
    expect(a.messages.messages[0]!.data).toBe(1);
    expect(server.server.stats().duplicatesIgnored).toBe(3);
  });
});
