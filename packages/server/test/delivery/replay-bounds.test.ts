import { afterEach, describe, expect, it } from 'vitest';
import { SlowStore, TestBed, waitUntil, type TestServer } from '@tether/testing';
import type { Envelope } from '@tether/protocol';
import { MemoryLogStore, type ReadResult, type RelevanceRules } from '@tether/server';
import { RawReaders } from './raw-reader.js';

let server: TestServer;
const bed = new TestBed();
const readers = new RawReaders();
afterEach(async () => {
  readers.closeAll();
  await bed.close();
});

const MiB = 1024 * 1024;
/** Order statuses published by `publishMixed` (every 5th message but the cancellation) minus one per order. */
const COLLAPSED = 29 - 3;
const relevance: RelevanceRules = {
  'order:status': { collapseKey: (m) => `order:${(m.data as { order: number }).order}` },
  'trip:offer': { supersededBy: ['trip:cancelled'] },
};

/**
 * 150 messages of ~30 KB (4.5 MB): statuses of 3 orders (only each order's last is relevant), an
 * offer superseded by a cancellation near the end, and plain blobs. Returns the offsets a replay
 * from 0 must deliver, in order.
 */
async function publishMixed(channel: string): Promise<number[]> {
  const blob = 'z'.repeat(30_000);
  const inputs = Array.from({ length: 150 }, (_, i) => {
    if (i === 2) return { channel, type: 'trip:offer', data: { blob } };
    if (i === 140) return { channel, type: 'trip:cancelled', data: {} };
    if (i % 5 === 0) return { channel, type: 'order:status', data: { order: i % 3, blob } };
    return { channel, type: 'blob', data: { i, blob } };
  });
  for (let i = 0; i < inputs.length; i += 25) await server.server.publishMany(inputs.slice(i, i + 25));
  const lastStatus = new Map<number, number>();
  inputs.forEach((input, i) => {
    if (input.type === 'order:status') lastStatus.set((input.data as { order: number }).order, i + 1);
  });
  return inputs
    .map((input, i) => ({ input, offset: i + 1 }))
    .filter(({ input, offset }) => {
      if (input.type === 'trip:offer') return false;
      if (input.type === 'order:status') return lastStatus.get((input.data as { order: number }).order) === offset;
      return true;
    })
    .map(({ offset }) => offset);
}

/** A store that notes the size (JSON bytes) of every page it is asked for. */
class PageLog extends SlowStore {
  readonly pages: number[] = [];

  constructor() {
    super(new MemoryLogStore({ maxMessages: 5000 }), { readDelayMs: 0 });
  }

  override async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const result = await super.read(stream, after, limit);
    this.pages.push(Buffer.byteLength(JSON.stringify(result.messages)));
    return result;
  }
}

describe('replay and poll answers larger than maxBatchBytes', () => {
  it('reads a large backlog from the store in pages of about maxBatchBytes, about twice in all, not once per batch', async () => {
    const store = new PageLog();
    server = await bed.start({ store });
    const channel = 'firehose:1';
    const blob = 'w'.repeat(60_000);
    for (let i = 0; i < 300; i += 20) {
      await server.server.publishMany(
        Array.from({ length: 20 }, (_, k) => ({ channel, type: 'blob', data: { i: i + k, blob } })),
      );
    }
    store.pages.length = 0;
    const token = await server.token({ sub: 'u1', channels: ['*'] });
    const reader = await readers.connect({
      url: server.url,
      token,
      deviceId: 'd1',
      positions: { [channel]: { offset: 0 } },
    });
    await waitUntil(() => (reader.positions.get(channel)?.offset === 300 ? true : undefined), 10_000, 'the replay');
    expect(reader.violations).toEqual([]);
    const backlog = 300 * 60_000;
    expect(Math.max(...store.pages)).toBeLessThanOrEqual(MiB + 70_000); // the budget and the message that ends it
    const read = store.pages.reduce((a, b) => a + b, 0);
    expect(read).toBeGreaterThanOrEqual(backlog);
    expect(read).toBeLessThan(2.5 * backlog); // one scan, one read of what is sent (18 batches)
  });

  it('replays a backlog over the byte limit in several batches, each within it, relevance rules kept', async () => {
    server = await bed.start({ relevance, maxBatchBytes: 256 * 1024, maxQueuedBytes: MiB });
    const channel = 'mixed:1';
    const expected = await publishMixed(channel);
    const token = await server.token({ sub: 'u1', channels: ['*'] });
    const reader = await readers.connect({
      url: server.url,
      token,
      deviceId: 'd1',
      positions: { [channel]: { offset: 0 } },
    });
    await waitUntil(() => (reader.positions.get(channel)?.offset === 150 ? true : undefined), 10_000, 'the replay');
    expect(reader.violations).toEqual([]);
    expect(reader.handled.get(channel)).toEqual(expected);
    const batches = reader.frames.filter((f) => f.channel === channel);
    expect(batches.length).toBeGreaterThanOrEqual(16); // ~4 MB kept, 256 KiB each
    for (const batch of batches) expect(batch.bytes).toBeLessThanOrEqual(256 * 1024);
    const { dropped, slowConsumers } = server.server.stats();
    expect(dropped.collapsed).toBe(COLLAPSED);
    expect(dropped.superseded).toBe(1);
    expect(slowConsumers).toBe(0);
  });

  it('answers a poll of the same backlog in pages with upTo: in order, every offset once', async () => {
    server = await bed.start({ relevance, maxBatchBytes: 256 * 1024, maxQueuedBytes: MiB });
    const channel = 'mixed:2';
    const expected = await publishMixed(channel);
    const token = await server.token({ sub: 'u1', channels: ['*'] });
    const handled: number[] = [];
    let position = 0;
    let answers = 0;
    while (position < 150) {
      expect(++answers).toBeLessThan(100);
      const response = await fetch(`${server.url}/v1/poll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ positions: { [channel]: { offset: position } } }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { channels: Record<string, { messages: Envelope[]; upTo: number }> };
      const entry = body.channels[channel]!;
      expect(Buffer.byteLength(JSON.stringify(entry.messages))).toBeLessThanOrEqual(256 * 1024);
      for (const m of entry.messages) {
        expect(m.offset).toBeGreaterThan(position);
        handled.push(m.offset);
      }
      expect(entry.upTo).toBeGreaterThan(position);
      position = entry.upTo;
    }
    expect(answers).toBeGreaterThanOrEqual(16);
    expect(handled).toEqual(expected);
    expect(server.server.stats().dropped.collapsed).toBe(COLLAPSED);
  });
});
