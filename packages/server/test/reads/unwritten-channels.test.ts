/**
 * Reads create nothing (issue 7, point 6): subscribing to, polling and acking a channel that was
 * never written stores nothing, and a subscriber of such a channel receives its first messages
 * once, in order, with no resync — on one node, and across nodes over a relay.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayBus, TestBed, waitUntil } from '@tether/testing';
import { UNWRITTEN_EPOCH, type PollResponse } from '@tether/protocol';
import { MemoryLogStore } from '@tether/server';

const beds: TestBed[] = [];
afterEach(async () => {
  for (const bed of beds.splice(0)) await bed.close();
});

async function node(options: Parameters<TestBed['start']>[0] = {}): Promise<TestBed> {
  const bed = new TestBed();
  beds.push(bed);
  await bed.start(options);
  return bed;
}

const claims = { sub: 'u', channels: ['room:*'], publish: ['room:*'] };
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function post(
  url: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('reads of never-written channels store nothing', () => {
  it('subscribe, unsubscribe, poll and ack of many names leave the store empty', async () => {
    const store = new MemoryLogStore();
    const bed = await node({ store });
    const client = await bed.connect(claims);
    for (let i = 0; i < 50; i++) {
      const reply = await client.sub(`room:s${i}`);
      expect(reply).toEqual({ channel: `room:s${i}`, epoch: UNWRITTEN_EPOCH, offset: 0 });
      if (i % 2 === 0) await client.unsub(`room:s${i}`);
    }
    client.ack(Object.fromEntries(range(0, 49).map((i) => [`room:s${i}`, 5])));
    const token = await bed.server.token(claims);
    const positions = Object.fromEntries(range(0, 49).map((i) => [`room:p${i}`, i % 2 ? null : { offset: 3 }]));
    const polled = await post(bed.server.url, '/v1/poll', token, { positions });
    expect(polled.status).toBe(200);
    const answer = polled.body as PollResponse;
    expect(answer.channels['room:p1']).toEqual({ epoch: UNWRITTEN_EPOCH, messages: [], upTo: 0 });
    // A position past an unwritten channel's head is one the store cannot serve: resync to 0.
    expect(answer.channels['room:p0']).toEqual({ resync: { epoch: UNWRITTEN_EPOCH, offset: 0 } });
    const acked = await post(bed.server.url, '/v1/ack', token, {
      acks: Object.fromEntries(range(0, 49).map((i) => [`room:a${i}`, 7])),
    });
    expect(acked.status).toBe(200);
    expect(acked.body).toEqual({ acks: Object.fromEntries(range(0, 49).map((i) => [`room:a${i}`, 0])) });
    // The inbox the connection subscribed to is a read too.
    expect(store.streamCount).toBe(0);
    expect(bed.server.server.stats().acked).toBe(0);
  });
});

describe('a subscriber of a never-written channel', () => {
  it('receives the first messages once, in order, with no resync (socket, one node)', async () => {
    const bed = await node({ store: new MemoryLogStore() });
    const client = await bed.connect(claims);
    expect(await client.sub('room:new')).toMatchObject({ epoch: UNWRITTEN_EPOCH, offset: 0 });
    for (let batch = 0; batch < 5; batch++) {
      await bed.server.server.publishMany(
        range(1, 4).map((n) => ({ channel: 'room:new', type: 't', data: batch * 4 + n })),
      );
    }
    await client.messages.waitForCount(20);
    expect(client.messages.offsets('room:new')).toEqual(range(1, 20));
    expect(client.messages.resyncs).toEqual([]);
    const epochs = new Set(client.messages.frames.map((f) => f.epoch));
    expect(epochs.size).toBe(1);
    expect(epochs.has(UNWRITTEN_EPOCH)).toBe(false);
    expect(bed.server.server.stats().resyncs).toBe(0);
  });

  it('resuming from the unwritten position replays the first life from offset 1, with no resync', async () => {
    const bed = await node({ store: new MemoryLogStore() });
    await bed.server.server.publishMany(range(1, 6).map((n) => ({ channel: 'room:later', type: 't', data: n })));
    const client = await bed.connect(claims);
    await client.sub('room:later', { epoch: UNWRITTEN_EPOCH, offset: 0 });
    await client.messages.waitForCount(6);
    await bed.server.server.publish({ channel: 'room:later', type: 't', data: 7 });
    await client.messages.waitForCount(7);
    expect(client.messages.offsets('room:later')).toEqual(range(1, 7));
    expect(client.messages.resyncs).toEqual([]);
  });

  it('on another node, the first messages published elsewhere arrive once, in order, with no resync', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    const jwtSecret = randomBytes(32).toString('base64url');
    const a = await node({ store, relay: bus.relay(), jwtSecret });
    const b = await node({ store, relay: bus.relay(), jwtSecret });
    const onB = await b.connect(claims);
    await onB.sub('room:x');
    for (let i = 1; i <= 30; i++) await a.server.server.publish({ channel: 'room:x', type: 't', data: i });
    await onB.messages.waitForCount(30);
    expect(onB.messages.offsets('room:x')).toEqual(range(1, 30));
    expect(onB.messages.resyncs).toEqual([]);
  });

  it('on another node whose relay lost the first batches, the head check delivers them with no resync', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    const jwtSecret = randomBytes(32).toString('base64url');
    const a = await node({ store, relay: bus.relay(), jwtSecret, headCheckIntervalMs: 100 });
    const b = await node({ store, relay: bus.relay(), jwtSecret, headCheckIntervalMs: 100 });
    const onB = await b.connect(claims);
    await onB.sub('room:lost');
    bus.drop(3);
    for (let i = 1; i <= 3; i++) await a.server.server.publish({ channel: 'room:lost', type: 't', data: i });
    await waitUntil(() => (onB.messages.offsets('room:lost').length === 3 ? true : undefined), 5000, 'caught up');
    await a.server.server.publish({ channel: 'room:lost', type: 't', data: 4 });
    await onB.messages.waitForCount(4);
    expect(onB.messages.offsets('room:lost')).toEqual(range(1, 4));
    expect(onB.messages.resyncs).toEqual([]);
  });
});
