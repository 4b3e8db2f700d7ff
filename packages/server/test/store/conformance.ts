/**
 * The one LogStore conformance suite: every engine runs it, and an engine is done when it passes.
 * Sections live in `conformance-*.ts`; this file wires them and covers the log itself (offsets,
 * order, reads, epochs, isolation, concurrency).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LogStore, RetentionOptions } from '../../src/store/types.js';
import {
  input,
  inputs,
  offsetsOf,
  range,
  readAll,
  type ConformanceContext,
  type ConformanceOptions,
  type MakeStore,
} from './conformance-fixtures.js';
import { describeIdempotency } from './conformance-idempotency.js';
import { describeLifecycle } from './conformance-lifecycle.js';
import { describeMessages } from './conformance-messages.js';
import { describeRetention } from './conformance-retention.js';
import { describeChannelRetention } from './conformance-channel-retention.js';
import { describeUnwritten } from './conformance-unwritten.js';
import { describePush } from './conformance-push.js';
import { describeReadState } from './conformance-read-state.js';

export type { ConformanceOptions, MakeStore } from './conformance-fixtures.js';

export function runLogStoreConformance(name: string, makeStore: MakeStore, opts: ConformanceOptions): void {
  describe(`LogStore conformance: ${name}`, () => {
    const openStores: LogStore[] = [];
    afterEach(async () => {
      // Stores a test closed itself reject here; that is expected.
      await Promise.allSettled(openStores.splice(0).map((store) => store.close()));
    });

    const track = (store: LogStore): LogStore => {
      openStores.push(store);
      return store;
    };
    const { reopen } = opts;
    const ctx: ConformanceContext = {
      storedStreams: async (store) => opts.storedStreams(store),
      make: async (retention?: Partial<RetentionOptions>) => track(await makeStore(retention)),
      reopen:
        reopen === undefined
          ? undefined
          : async (store: LogStore, retention?: Partial<RetentionOptions>) => {
              await store.close();
              return track(await reopen(retention));
            },
    };

    describeLog(ctx);
    describeIdempotency(ctx);
    describeRetention(ctx);
    describeChannelRetention(ctx);
    describeMessages(ctx);
    describeLifecycle(ctx);
    describeUnwritten(ctx);
    describePush(ctx);
    describeReadState(ctx);
  });
}

function describeLog({ make }: ConformanceContext): void {
  describe('offsets and order', () => {
    it('assigns 1, 2, 3 … with no holes across single appends and batches', async () => {
      const store = await make();
      const offsets: number[] = [];
      for (const batch of [[input('a')], inputs('b', 3), [input('c')], inputs('d', 10), inputs('e', 2)]) {
        offsets.push(...(await store.append('s', batch)).map((r) => r.offset));
      }
      expect(offsets).toEqual(range(1, 17));
      expect(await store.info('s')).toMatchObject({ head: 17, first: 1 });
      const stored = await readAll(store, 's');
      expect(offsetsOf(stored)).toEqual(range(1, 17));
      expect(stored.map((m) => m.id).slice(0, 6)).toEqual(['a', 'b0', 'b1', 'b2', 'c', 'd0']);
    });

    it('keeps the order of a batch, and results are in input order', async () => {
      const store = await make();
      await store.append('s', [input('first')]);
      const batch = inputs('m', 40);
      const results = await store.append('s', batch);
      expect(results.map((r) => r.offset)).toEqual(range(2, 41));
      expect(results.map((r) => r.message.id)).toEqual(batch.map((m) => m.id));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      const read = await store.read('s', 1, 100);
      expect(read.messages.map((m) => m.id)).toEqual(batch.map((m) => m.id));
    });

    it('reports the stream epoch in every result', async () => {
      const store = await make();
      const results = await store.append('s', inputs('m', 3));
      const { epoch } = await store.info('s');
      expect(epoch).toEqual(expect.any(String));
      expect(epoch.length).toBeGreaterThan(0);
      expect(results.map((r) => r.epoch)).toEqual([epoch, epoch, epoch]);
    });

    it('appends nothing for an empty batch', async () => {
      const store = await make();
      expect(await store.append('s', [])).toEqual([]);
      expect(await store.info('s')).toMatchObject({ head: 0, first: 1 });
    });

    it('gives concurrent appends to one stream one gap-free sequence', async () => {
      const store = await make();
      const calls = Array.from({ length: 50 }, (_, call) => store.append('s', inputs(`c${call}-`, 1 + (call % 4))));
      const results = await Promise.all(calls);
      const all = results.flat();
      expect(all.map((r) => r.offset).sort((a, b) => a - b)).toEqual(range(1, all.length));
      for (const callResults of results) {
        // One call's messages are consecutive: nothing interleaves into a batch.
        const offsets = callResults.map((r) => r.offset);
        expect(offsets).toEqual(range(offsets[0] ?? 0, (offsets[0] ?? 0) + offsets.length - 1));
      }
      const byOffset = new Map(all.map((r) => [r.offset, r.message.id]));
      const stored = await readAll(store, 's');
      expect(stored.map((m) => [m.offset, m.id])).toEqual([...byOffset.entries()].sort(([a], [b]) => a - b));
    });

    it('keeps concurrent appends to many streams each gap-free', async () => {
      const store = await make();
      const streams = ['x', 'y', 'z'];
      await Promise.all(range(0, 29).map((i) => store.append(streams[i % 3] ?? 'x', inputs(`m${i}-`, 2))));
      for (const stream of streams) {
        expect(offsetsOf(await readAll(store, stream))).toEqual(range(1, 20));
      }
    });
  });

  describe('reads', () => {
    it('pages through a stream by after and limit', async () => {
      const store = await make();
      await store.append('s', inputs('m', 10));
      const page = async (after: number, limit: number): Promise<number[]> =>
        offsetsOf((await store.read('s', after, limit)).messages);
      expect(await page(0, 3)).toEqual([1, 2, 3]);
      expect(await page(3, 3)).toEqual([4, 5, 6]);
      expect(await page(8, 10)).toEqual([9, 10]);
      expect(await page(0, 100)).toEqual(range(1, 10));
      expect(await page(0, 0)).toEqual([]);
    });

    it('returns no messages, and the head, when after is at or beyond the head', async () => {
      const store = await make();
      await store.append('s', inputs('m', 4));
      const atHead = await store.read('s', 4, 10);
      expect(atHead).toMatchObject({ head: 4, first: 1, messages: [] });
      const beyond = await store.read('s', 50, 10);
      expect(beyond).toMatchObject({ head: 4, first: 1, messages: [] });
      expect(beyond.epoch).toBe(atHead.epoch);
    });

    it('carries the stream info with the messages', async () => {
      const store = await make();
      await store.append('s', inputs('m', 5));
      const read = await store.read('s', 0, 2);
      expect(read).toMatchObject({ ...(await store.info('s')), head: 5, first: 1 });
      expect(read.messages[0]).toMatchObject({ id: 'm0', offset: 1 });
    });
  });

  describe('epochs', () => {
    it('the first append starts an epoch that stays stable', async () => {
      const store = await make();
      const [first] = await store.append('new', [input('a')]);
      const info = await store.info('new');
      expect(info).toEqual({ epoch: first?.epoch, head: 1, first: 1 });
      expect(info.epoch.length).toBeGreaterThan(0);
      await store.append('new', inputs('m', 3));
      expect(await store.info('new')).toEqual({ ...info, head: 4 });
    });

    it('differs between streams and between two fresh stores', async () => {
      const one = await make();
      const two = await make();
      const epochOf = async (store: LogStore, stream: string): Promise<string | undefined> =>
        (await store.append(stream, [input('a')]))[0]?.epoch;
      const a = await epochOf(one, 's');
      expect(await epochOf(one, 't')).not.toBe(a);
      expect(await epochOf(two, 's')).not.toBe(a);
    });
  });

  describe('isolation', () => {
    it('keeps streams apart: offsets, messages and info', async () => {
      const store = await make();
      await store.append('a/x', inputs('a', 3));
      await store.append('b/x', inputs('b', 2));
      await store.append('a/x', [input('a3')]);
      expect(await store.info('a/x')).toMatchObject({ head: 4, first: 1 });
      expect(await store.info('b/x')).toMatchObject({ head: 2, first: 1 });
      expect((await readAll(store, 'a/x')).map((m) => m.id)).toEqual(['a0', 'a1', 'a2', 'a3']);
      expect((await readAll(store, 'b/x')).map((m) => m.id)).toEqual(['b0', 'b1']);
      expect(await store.info('x')).toMatchObject({ head: 0 });
    });
  });
}
