import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil, type TestServer } from '@tether/testing';
import { ErrorCode } from '@tether/protocol';
import { RawReaders } from './raw-reader.js';

let server: TestServer;
const bed = new TestBed();
const readers = new RawReaders();
afterEach(async () => {
  readers.closeAll();
  await bed.close();
});

const MiB = 1024 * 1024;
const BIG = 'x'.repeat(60_000);

async function reader(deviceId: string, positions: Record<string, { epoch?: string; offset: number }>) {
  const token = await server.token({ sub: 'u1', channels: ['*'] });
  const r = await readers.connect({ url: server.url, token, deviceId, positions });
  return r;
}

async function publishBig(channel: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, () => ({ channel, type: 'blob', data: BIG }));
    await server.server.publishMany(batch);
    await new Promise((resolve) => setImmediate(resolve)); // let the sockets be written as a real server would
  }
}

describe('slow consumers', () => {
  it('cuts a socket that stops reading at maxQueuedBytes; it is told why on return and resumes with 0 lost, 0 twice', async () => {
    server = await bed.start({ retention: { maxMessages: 5000 } });
    const channel = 'feed:1';
    const slow = await reader('dev-slow', { [channel]: { offset: 0 } });
    await waitUntil(() => (server.server.stats().connections === 1 ? true : undefined));
    slow.stopReading();

    // 24 MB at a socket that reads nothing: far more than the limit and the kernel's buffers.
    await publishBig(channel, 400);
    await waitUntil(() => (server.server.stats().slowConsumers === 1 ? true : undefined), 5000, 'the cut');
    expect(server.server.stats().connections).toBe(0);

    // Reading again, it finds the connection ended (what its kernel still held may come first).
    slow.startReading();
    await slow.closed;
    expect(slow.violations).toEqual([]);
    const first = slow.positions.get(channel) ?? { offset: 0 };
    expect(first.offset).toBeLessThan(400);
    // Its error frame could never have reached it before the cut.
    expect(slow.errors).toEqual([]);

    // The same device resumes from its position: told why it was cut, then everything after it once.
    const again = await reader('dev-slow', { [channel]: first });
    await waitUntil(() => (again.positions.get(channel)?.offset === 400 ? true : undefined), 10_000, 'the resume');
    expect(again.errors.map((e) => e.code)).toEqual([ErrorCode.SlowConsumer]);
    expect(again.violations).toEqual([]);
    const all = [...(slow.handled.get(channel) ?? []), ...again.handled.get(channel)!];
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(server.server.stats().slowConsumers).toBe(1);
  });

  // The check measures only the sockets that may be behind (what was broadcast since its last walk
  // of every socket bounds the rest): a room written in slices (chunks of one socket here) must
  // still have its reader that stops reading cut, and never the one beside it that reads.
  it('in a room written in slices, cuts the socket that stops reading and not the one that reads', async () => {
    server = await bed.start({ retention: { maxMessages: 5000 }, broadcastChunkSize: 1 });
    const channel = 'feed:3';
    const slow = await reader('dev-behind', { [channel]: { offset: 0 } });
    const fast = await reader('dev-reading', { [channel]: { offset: 0 } });
    await waitUntil(() => (server.server.stats().connections === 2 ? true : undefined));
    slow.stopReading();

    await publishBig(channel, 400);
    await waitUntil(() => (server.server.stats().slowConsumers === 1 ? true : undefined), 5000, 'the cut');
    await waitUntil(() => (fast.positions.get(channel)?.offset === 400 ? true : undefined), 10_000, 'the reader');
    // Past several of the guard's walks (every 2 s at most): the reader is still not cut.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(server.server.stats().slowConsumers).toBe(1);
    expect(server.server.stats().connections).toBe(1);
    expect(fast.handled.get(channel)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(fast.violations).toEqual([]);
    expect(fast.errors).toEqual([]);
  });

  it('paces a replay to a resuming socket that does not read: never cut, and every batch within maxBatchBytes', async () => {
    server = await bed.start({ retention: { maxMessages: 5000 } });
    const channel = 'feed:2';
    await publishBig(channel, 300); // an 18 MB backlog
    const paused = await reader('dev-paused', { [channel]: { offset: 0 } });
    paused.stopReading();
    // Unpaced, the whole backlog would be queued for it at once and it would be cut.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.server.stats().slowConsumers).toBe(0);
    expect(server.server.stats().connections).toBe(1);

    paused.startReading();
    await waitUntil(() => (paused.positions.get(channel)?.offset === 300 ? true : undefined), 10_000, 'the replay');
    expect(paused.violations).toEqual([]);
    expect(paused.handled.get(channel)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const batches = paused.frames.filter((f) => f.channel === channel && f.upTo !== undefined);
    expect(batches.length).toBeGreaterThanOrEqual(18);
    for (const batch of batches) expect(batch.bytes).toBeLessThanOrEqual(MiB);
    expect(server.server.stats().slowConsumers).toBe(0);
  });

  it('refuses a queue limit without room for a replay batch and live traffic', async () => {
    await expect(bed.start({ maxQueuedBytes: MiB, maxBatchBytes: MiB })).rejects.toThrow(/maxQueuedBytes/);
    await expect(bed.start({ maxBatchBytes: 0 })).rejects.toThrow(/maxBatchBytes/);
  });
});
