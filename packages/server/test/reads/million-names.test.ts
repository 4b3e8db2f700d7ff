/**
 * Polling distinct never-written channel names leaves nothing behind (issue 7, point 6): 100,000
 * names (1,000 polls of 100, over real HTTP, plus an ack of 100 names every 10th poll) store no
 * stream and keep the heap flat. The million is a bench command (bench/scenarios/unwritten-reads.js,
 * figures in bench/README.md); this test is its bounded version.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed } from '@tether/testing';
import { MemoryLogStore } from '@tether/server';

const POLLS = 1000;
const NAMES_PER_POLL = 100;
const CONCURRENCY = 8;
/**
 * Heap growth allowed after a full GC. Generous: what stays (JIT code, fastify and socket.io
 * caches) is a few MB; before the fix the same run kept ~100k stream entries and waiter sets
 * (tens of MB on the memory store).
 */
const HEAP_BOUND_BYTES = 12 * 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const bed = new TestBed();
afterEach(() => bed.close());

describe('polling 100k distinct never-written channel names', () => {
  it('stores no stream and keeps the heap flat', { timeout: 120_000 }, async () => {
    const store = new MemoryLogStore();
    const server = await bed.start({ store, maxChannelsPerConnection: NAMES_PER_POLL + 1 });
    const token = await server.token({ sub: 'p', channels: ['n:*'] });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const call = async (path: string, body: unknown): Promise<void> => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const names = (poll: number): string[] =>
      Array.from({ length: NAMES_PER_POLL }, (_, i) => `n:${poll}-${i}-${'x'.repeat(i % 40)}`);
    const run = async (from: number, to: number): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let poll = next++; poll < to; poll = next++) {
            const list = names(poll);
            // Half the names with no position ("where is now?"), half from offset 0; wait 0 still
            // registers (and must unregister) a long-poll waiter per name.
            const positions = Object.fromEntries(list.map((n, i) => [n, i % 2 ? null : { offset: 0 }]));
            await call('/v1/poll', { positions, wait: 0 });
            if (poll % 10 === 0) await call('/v1/ack', { acks: Object.fromEntries(list.map((n) => [n, 5])) });
          }
        }),
      );
    };

    await run(-200, 0); // warm-up: JIT, pools, caches
    const before = heapAfterGc();
    const rssBefore = process.memoryUsage().rss;
    await run(0, POLLS);
    const after = heapAfterGc();
    const rssAfter = process.memoryUsage().rss;
    console.info(
      `100k never-written names: heap ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB, ` +
        `rss ${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssAfter / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(store.streamCount).toBe(0);
    expect(after - before).toBeLessThan(HEAP_BOUND_BYTES);
  });
});
