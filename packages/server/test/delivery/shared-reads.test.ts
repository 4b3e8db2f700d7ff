/**
 * Many clients resuming one channel from about the same position (a restart's resume storm) read
 * its rows from the store about once, not once each, and every one of them still gets each offset
 * exactly once, including what is published while they resume; with `replayCacheBytes: 0` every
 * resume reads the store. Real sockets, the raw reader checking order and duplicates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SlowStore, TestBed, waitUntil, type TestServer } from '@tether/testing';
import { MemoryLogStore, type ReadResult } from '@tether/server';
import { RawReaders, type RawReader } from './raw-reader.js';

let server: TestServer;
const bed = new TestBed();
const readers = new RawReaders();
afterEach(async () => {
  readers.closeAll();
  await bed.close();
});

const CHANNEL = 'room:all';
const READERS = 40;

/** A real store that counts the reads of each stream (a little slow, so that reads overlap). */
class CountingStore extends SlowStore {
  readonly reads = new Map<string, number>();

  constructor() {
    super(new MemoryLogStore(), { readDelayMs: 2 });
  }

  override async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    this.reads.set(stream, (this.reads.get(stream) ?? 0) + 1);
    return super.read(stream, after, limit);
  }
}

async function resumeStorm(replayCacheBytes?: number): Promise<{ store: CountingStore; readers: RawReader[] }> {
  const store = new CountingStore();
  server = await bed.start({ store, ...(replayCacheBytes === undefined ? {} : { replayCacheBytes }) });
  for (let i = 1; i <= 10; i++) await server.server.publish({ channel: CHANNEL, type: 't', data: { i } });
  store.reads.clear();
  const mine = await Promise.all(
    Array.from({ length: READERS }, async (_, i) => {
      const token = await server.token({ sub: `u${i}`, channels: [CHANNEL] });
      // Positions 6 and 7: what two waves of acks left behind.
      const reader = await readers.connect({
        url: server.url,
        token,
        deviceId: `d${i}`,
        positions: { [CHANNEL]: { offset: 6 + (i % 2) } },
      });
      return reader;
    }),
  );
  // Published while they resume: each must come once, live or replayed.
  for (let i = 11; i <= 13; i++) await server.server.publish({ channel: CHANNEL, type: 't', data: { i } });
  for (const reader of mine) {
    await waitUntil(() => (reader.positions.get(CHANNEL)?.offset === 13 ? true : undefined), 10_000, 'caught up');
  }
  return { store, readers: mine };
}

describe('resume storm: shared reads of a channel head', () => {
  it('reads the shared channel from the store a few times for 40 resuming clients, each offset delivered once', async () => {
    const { store, readers: mine } = await resumeStorm();
    mine.forEach((reader, i) => {
      expect(reader.violations).toEqual([]);
      const from = 7 + (i % 2);
      expect(reader.handled.get(CHANNEL)).toEqual(Array.from({ length: 14 - from }, (_, k) => from + k));
    });
    expect(store.reads.get(`default/${CHANNEL}`) ?? 0).toBeLessThanOrEqual(8);
  });

  it('with replayCacheBytes 0, every resume reads the store', async () => {
    const { store, readers: mine } = await resumeStorm(0);
    for (const reader of mine) expect(reader.violations).toEqual([]);
    expect(store.reads.get(`default/${CHANNEL}`) ?? 0).toBeGreaterThanOrEqual(READERS);
  });

  it('clients resuming at the head of their channels read nothing from the store (the peek asks the channel state)', async () => {
    const store = new CountingStore();
    server = await bed.start({ store });
    let room = { epoch: '', offset: 0 };
    for (let i = 1; i <= 10; i++) room = await server.server.publish({ channel: CHANNEL, type: 't', data: { i } });
    const news = await server.server.publish({ channel: 'news:1', type: 't', data: {} });
    store.reads.clear();
    const mine = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const token = await server.token({ sub: `u${i}`, channels: [CHANNEL, 'news:*'] });
        return readers.connect({
          url: server.url,
          token,
          deviceId: `d${i}`,
          positions: {
            [CHANNEL]: { epoch: room.epoch, offset: room.offset },
            'news:1': { epoch: news.epoch, offset: news.offset },
          },
        });
      }),
    );
    await server.server.publish({ channel: CHANNEL, type: 't', data: { i: 11 } });
    for (const reader of mine) {
      await waitUntil(() => (reader.positions.get(CHANNEL)?.offset === 11 ? true : undefined), 10_000, 'live');
      expect(reader.violations).toEqual([]);
      expect(reader.handled.get(CHANNEL)).toEqual([11]);
    }
    expect(store.reads.get(`default/${CHANNEL}`) ?? 0).toBe(0);
    expect(store.reads.get('default/news:1') ?? 0).toBe(0);
  });
});
