/**
 * Conformance: reads create nothing. Only an append creates a stream; a stream that was never
 * written reads as `UNWRITTEN_EPOCH`, head 0, first 1, no messages, and costs the store nothing
 * (any name a client may read must not become a row, a key or an entry).
 */
import { describe, expect, it } from 'vitest';
import { UNWRITTEN_EPOCH } from '../../src/store/types.js';
import { input, inputs, offsetsOf, range, readAll, type ConformanceContext } from './conformance-fixtures.js';

const EMPTY = { epoch: UNWRITTEN_EPOCH, head: 0, first: 1 };

export function describeUnwritten({ make, reopen, storedStreams }: ConformanceContext): void {
  describe('reads create nothing', () => {
    it('a never-written stream reads as the unwritten epoch, head 0, no messages', async () => {
      const store = await make();
      expect(await store.info('never/written')).toEqual(EMPTY);
      expect(await store.read('never/written', 0, 10)).toEqual({ ...EMPTY, messages: [] });
      expect(await store.read('never/written', 5, Infinity)).toEqual({ ...EMPTY, messages: [] });
      expect(await store.info('never/written')).toEqual(EMPTY);
    });

    it('reading and inspecting many names stores no stream; appending stores exactly one', async () => {
      const store = await make();
      await store.append('written', [input('w')]);
      const before = await storedStreams(store);
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 300; i++) {
        await store.read(`r/${i}`, i % 3, 10);
        await store.info(`i/${i}`);
      }
      await store.append('empty/batch', []);
      expect(await storedStreams(store)).toBe(before);
      await store.append('r/7', [input('a')]);
      expect(await storedStreams(store)).toBe(before + 1);
    });

    it('the first append starts a real epoch at offset 1, whatever was read before', async () => {
      const store = await make();
      await store.read('s', 0, 10);
      await store.info('s');
      const results = await store.append('s', inputs('m', 3));
      expect(results.map((r) => r.offset)).toEqual([1, 2, 3]);
      const epoch = results[0]?.epoch ?? '';
      expect(epoch).not.toBe(UNWRITTEN_EPOCH);
      expect(epoch.length).toBeGreaterThan(0);
      expect(await store.info('s')).toEqual({ epoch, head: 3, first: 1 });
      expect(offsetsOf(await readAll(store, 's'))).toEqual(range(1, 3));
      // An empty append to an unwritten stream creates nothing either.
      expect(await store.append('t', [])).toEqual([]);
      expect(await store.info('t')).toEqual(EMPTY);
    });

    it('a prune does not create, nor keep, unwritten streams', async () => {
      const store = await make();
      await store.read('s', 0, 10);
      expect(await store.prune(Date.now())).toBe(0);
      expect(await storedStreams(store)).toBe(0);
    });

    if (reopen === undefined) return;

    it('stays unwritten across a reopen (persistent engine)', async () => {
      const store = await make();
      await store.read('s', 0, 10);
      await store.append('t', [input('a')]);
      const reopened = await reopen(store);
      expect(await reopened.info('s')).toEqual(EMPTY);
      expect(await storedStreams(reopened)).toBe(1);
    });
  });
}
