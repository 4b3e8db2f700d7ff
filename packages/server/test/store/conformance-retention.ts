/** Conformance: retention by count (on append) and by age (on prune). */
import { describe, expect, it } from 'vitest';
import { T0, input, inputs, offsetsOf, range, readAll, type ConformanceContext } from './conformance-fixtures.js';

const MINUTE = 60_000;

export function describeRetention({ make }: ConformanceContext): void {
  describe('count retention', () => {
    it('keeps the last maxMessages: first moves, head stays, offsets are never reused', async () => {
      const store = await make({ maxMessages: 5 });
      for (const batch of [inputs('a', 3), inputs('b', 4), [input('c')], inputs('d', 4)])
        await store.append('s', batch);
      const { epoch } = await store.info('s');
      expect(await store.info('s')).toEqual({ epoch, head: 12, first: 8 });
      expect(offsetsOf(await readAll(store, 's'))).toEqual(range(8, 12));
      expect(offsetsOf((await store.read('s', 0, 2)).messages)).toEqual([8, 9]);
      // A position before first reads from first (the caller sees the gap in `first`).
      expect(offsetsOf((await store.read('s', 3, 2)).messages)).toEqual([8, 9]);
      expect(offsetsOf((await store.read('s', 9, 2)).messages)).toEqual([10, 11]);
      const [next] = await store.append('s', [input('e')]);
      expect(next?.offset).toBe(13);
      expect(await store.info('s')).toEqual({ epoch, head: 13, first: 9 });
    });

    it('trims inside a batch larger than maxMessages', async () => {
      const store = await make({ maxMessages: 3 });
      const results = await store.append('s', inputs('m', 8));
      expect(results.map((r) => r.offset)).toEqual(range(1, 8));
      expect(await store.info('s')).toMatchObject({ head: 8, first: 6 });
      expect((await readAll(store, 's')).map((m) => m.id)).toEqual(['m5', 'm6', 'm7']);
    });

    it('counts per stream', async () => {
      const store = await make({ maxMessages: 2 });
      await store.append('a', inputs('a', 4));
      await store.append('b', [input('b0')]);
      expect(await store.info('a')).toMatchObject({ head: 4, first: 3 });
      expect(await store.info('b')).toMatchObject({ head: 1, first: 1 });
    });
  });

  describe('age retention', () => {
    it('prune removes messages older than maxAgeMs and returns how many', async () => {
      const store = await make({ maxAgeMs: MINUTE });
      const ts = [T0, T0 + 10_000, T0 + 20_000];
      await store.append(
        's',
        ts.map((t, i) => input(`m${i}`, { ts: t })),
      );
      const { epoch } = await store.info('s');

      expect(await store.prune(T0 + MINUTE - 1)).toBe(0);
      expect(await store.info('s')).toEqual({ epoch, head: 3, first: 1 });

      expect(await store.prune(T0 + MINUTE + 1)).toBe(1);
      expect(await store.info('s')).toEqual({ epoch, head: 3, first: 2 });
      expect(offsetsOf(await readAll(store, 's'))).toEqual([2, 3]);

      expect(await store.prune(T0 + 20_000 + MINUTE + 1)).toBe(2);
      expect(await store.info('s')).toEqual({ epoch, head: 3, first: 4 });
      expect(await store.read('s', 0, 10)).toEqual({ epoch, head: 3, first: 4, messages: [] });

      // An emptied stream keeps its epoch and head; the next offset follows the head.
      const [next] = await store.append('s', [input('later', { ts: T0 + 2 * MINUTE })]);
      expect(next).toMatchObject({ offset: 4, epoch });
      expect(await store.info('s')).toEqual({ epoch, head: 4, first: 4 });
    });

    it('prunes every stream and sums the removals', async () => {
      const store = await make({ maxAgeMs: MINUTE });
      await store.append('old', inputs('o', 3, { ts: T0 }));
      await store.append('mixed', [input('m0', { ts: T0 }), input('m1', { ts: T0 + 2 * MINUTE })]);
      await store.append('fresh', inputs('f', 2, { ts: T0 + 2 * MINUTE }));
      expect(await store.prune(T0 + MINUTE + 1)).toBe(4);
      expect(await store.info('old')).toMatchObject({ head: 3, first: 4 });
      expect(await store.info('mixed')).toMatchObject({ head: 2, first: 2 });
      expect(await store.info('fresh')).toMatchObject({ head: 2, first: 1 });
      expect(await store.prune(T0 + MINUTE + 1)).toBe(0);
    });

    it('leaves no hole when publish times are out of order', async () => {
      const store = await make({ maxAgeMs: MINUTE });
      const ts = [T0, T0 + 50_000, T0 + 1_000, T0 + 2_000, T0 + 90_000];
      await store.append(
        's',
        ts.map((t, i) => input(`m${i}`, { ts: t })),
      );
      const removed = await store.prune(T0 + MINUTE + 5_000);
      const { head, first } = await store.info('s');
      expect(head).toBe(5);
      expect(removed).toBe(first - 1);
      // At least the oldest went; whatever is retained is exactly first..head.
      expect(first).toBeGreaterThan(1);
      expect(offsetsOf(await readAll(store, 's'))).toEqual(range(first, head));
    });

    it('combines with count retention', async () => {
      const store = await make({ maxAgeMs: MINUTE, maxMessages: 3 });
      await store.append('s', [...inputs('old', 3, { ts: T0 }), ...inputs('new', 2, { ts: T0 + 2 * MINUTE })]);
      expect(await store.info('s')).toMatchObject({ head: 5, first: 3 });
      expect(await store.prune(T0 + MINUTE + 1)).toBe(1);
      expect((await readAll(store, 's')).map((m) => m.id)).toEqual(['new0', 'new1']);
    });
  });
}
