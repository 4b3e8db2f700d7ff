import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil, type TestClient, type TestServer } from '@tether/testing';
import type { PushNotice, PushProvider } from '@tether/server';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

/** Short timeouts so the whole retry ladder runs in about a second. */
const timing = { ackTimeoutMs: 300, retryAckTimeoutMs: 200, retryDelayMs: 50, maxRetries: 2 };

async function subscriber(sub = 'u1'): Promise<TestClient> {
  const c = await bed.connect({ sub, channels: ['room:*'] });
  await c.sub('room:r');
  return c;
}

describe('ack and redelivery', () => {
  it('redelivers unacked messages maxRetries times, then counts them missed', async () => {
    server = await bed.start(timing);
    const silent = await subscriber();
    await server.server.publishMany([1, 2, 3].map((i) => ({ channel: 'room:r', type: 't', data: i })));
    await silent.messages.waitForCount(3);
    // 1 live send + 2 redeliveries of each of the 3 messages.
    await silent.messages.waitForCount(9, { timeoutMs: 3000 });
    await waitUntil(() => (server.server.stats().missed === 3 ? true : undefined), 3000, 'missed counted');
    const stats = server.server.stats();
    expect(stats.redelivered).toBe(6);
    expect(stats.missed).toBe(3);
    // No more sends after giving up.
    await new Promise((r) => setTimeout(r, 600));
    expect(silent.messages.messages).toHaveLength(9);
    expect(silent.messages.offsets('room:r')).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('does not redeliver what was acked, and redelivers only from the first unacked offset', async () => {
    server = await bed.start(timing);
    const c = await subscriber();
    await server.server.publishMany([1, 2, 3, 4].map((i) => ({ channel: 'room:r', type: 't', data: i })));
    await c.messages.waitForCount(4);
    c.ack({ 'room:r': 2 });
    const redelivered = await c.messages.waitForCount(6, { timeoutMs: 3000 });
    expect(redelivered.slice(4).map((m) => m.offset)).toEqual([3, 4]);
    c.ack({ 'room:r': 4 });
    await new Promise((r) => setTimeout(r, 800));
    expect(c.messages.messages).toHaveLength(6);
    const stats = server.server.stats();
    expect(stats.acked).toBe(4);
    expect(stats.missed).toBe(0);
  });

  it('counts as missed, without a resync, what can no longer be redelivered (out of ring and retention)', async () => {
    server = await bed.start({ ...timing, recentPerChannel: 8, retention: { maxMessages: 10 } });
    const silent = await subscriber();
    await server.server.publishMany(Array.from({ length: 30 }, (_, i) => ({ channel: 'room:r', type: 't', data: i })));
    await silent.messages.waitForCount(30);
    await waitUntil(() => (server.server.stats().missed === 30 ? true : undefined), 3000, 'missed counted');
    expect(silent.messages.resyncs).toEqual([]);
    expect(silent.messages.messages).toHaveLength(30);
    expect(server.server.stats()).toMatchObject({ redelivered: 0, resyncs: 0 });
  });

  it('on a channel busier than its ring, a steady acker is never redelivered to, and a stuck one is', async () => {
    server = await bed.start({ ...timing, recentPerChannel: 8 });
    const steady = await subscriber('steady');
    const stuck = await subscriber('stuck');
    // Acks every 100 ms, always behind by the messages of the last tick: never caught up, never stalled.
    const acking = setInterval(() => {
      const offsets = steady.messages.offsets('room:r');
      if (offsets.length > 0) steady.ack({ 'room:r': Math.max(...offsets) });
    }, 100);
    try {
      for (let tick = 0; tick < 30; tick++) {
        await server.server.publishMany(
          Array.from({ length: 10 }, (_, i) => ({ channel: 'room:r', type: 't', data: i })),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      await waitUntil(() => (server.server.stats().missed > 0 ? true : undefined), 3000, 'the stuck client missed');
    } finally {
      clearInterval(acking);
    }
    const steadyOffsets = steady.messages.offsets('room:r');
    expect(new Set(steadyOffsets).size).toBe(steadyOffsets.length); // nothing sent twice to the steady one
    expect(stuck.messages.offsets('room:r').length).toBeGreaterThan(300); // the stuck one was redelivered to
  });

  it('a prompt acker is never redelivered to', async () => {
    server = await bed.start(timing);
    const c = await subscriber();
    c.socket.on('msg', (frame) => c.ack({ [frame.channel]: frame.messages.at(-1)!.offset }));
    for (let i = 0; i < 20; i++) await server.server.publish({ channel: 'room:r', type: 't', data: i });
    await c.messages.waitForCount(20);
    await new Promise((r) => setTimeout(r, 800));
    expect(c.messages.offsets('room:r')).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
    expect(server.server.stats()).toMatchObject({ redelivered: 0, missed: 0, acked: 20 });
  });

  it('hands a missed critical message of a shared channel to the push fallback once, unless another device of the user acked it', async () => {
    const pushed: PushNotice[] = [];
    const provider: PushProvider = {
      name: 'test',
      perDevice: false,
      send: async (notice) => {
        pushed.push(notice);
        return { result: 'sent' };
      },
    };
    server = await bed.start({ ...timing, push: { providers: [provider] } });
    const claims = { sub: 'driver-7', channels: ['trip:*'] };
    const phone = await bed.connect(claims);
    const tablet = await bed.connect(claims); // never acks
    await phone.sub('trip:7');
    await tablet.sub('trip:7');
    await server.server.publish({ channel: 'trip:7', type: 'trip:requested', data: { trip: 1 }, critical: true });
    await server.server.publish({ channel: 'trip:7', type: 'note', data: {} });
    await waitUntil(() => (server.server.stats().missed >= 4 ? true : undefined), 4000, 'both devices gave up');
    await waitUntil(() => (pushed.length > 0 ? true : undefined), 2000, 'pushed');
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({
      sub: 'driver-7',
      channel: 'trip:7',
      offset: 1,
      type: 'trip:requested',
      reason: 'unacked',
    });

    // Acked by one device: the other device's miss does not push.
    await server.server.publish({ channel: 'trip:7', type: 'trip:requested', data: { trip: 2 }, critical: true });
    await phone.messages.waitFor((m) => m.offset === 3);
    phone.ack({ 'trip:7': 3 });
    await waitUntil(() => (server.server.stats().missed >= 5 ? true : undefined), 4000, 'tablet gave up');
    expect(pushed).toHaveLength(1);
    expect(server.server.stats().push).toMatchObject({ candidates: 1, sent: { test: 1 } });
  });
});
