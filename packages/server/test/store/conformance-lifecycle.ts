/** Conformance: ping, close, and (for persistent engines) reopening the same data. */
import { describe, expect, it } from 'vitest';
import {
  T0,
  expectStoreUnavailable,
  input,
  inputs,
  offsetsOf,
  range,
  readAll,
  type ConformanceContext,
} from './conformance-fixtures.js';
import { jsonSamples } from './conformance-messages.js';

export function describeLifecycle({ make, reopen }: ConformanceContext): void {
  describe('lifecycle', () => {
    it('has an engine name', async () => {
      const store = await make();
      expect(store.engine).toMatch(/^[a-z]+$/);
    });

    it('ping resolves while open', async () => {
      const store = await make();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('after close, every method rejects with store_unavailable', async () => {
      const store = await make();
      await store.append('s', [input('a')]);
      await store.close();
      await expectStoreUnavailable(store.append('s', [input('b')]));
      await expectStoreUnavailable(store.read('s', 0, 10));
      await expectStoreUnavailable(store.info('s'));
      await expectStoreUnavailable(store.prune(T0));
      await expectStoreUnavailable(store.ping());
      await expectStoreUnavailable(store.close());
    });
  });

  if (reopen === undefined) return;

  describe('reopen (persistent engine)', () => {
    it('keeps epochs, heads and messages', async () => {
      const store = await make();
      await store.append('a/x', [
        ...jsonSamples.map(([name, data]) => input(name, { data })),
        input('opt', { ttl: 1000, critical: false, collapseKey: 'k' }),
      ]);
      await store.append('b/x', inputs('b', 3));
      const before = { a: await store.info('a/x'), b: await store.info('b/x') };
      const messagesBefore = await readAll(store, 'a/x');

      const reopened = await reopen(store);
      expect(await reopened.info('a/x')).toEqual(before.a);
      expect(await reopened.info('b/x')).toEqual(before.b);
      expect(await readAll(reopened, 'a/x')).toStrictEqual(messagesBefore);
    });

    it('continues offsets after the head', async () => {
      const store = await make();
      await store.append('s', inputs('m', 4));
      const reopened = await reopen(store);
      const results = await reopened.append('s', inputs('n', 2));
      expect(results.map((r) => r.offset)).toEqual([5, 6]);
      expect(offsetsOf(await readAll(reopened, 's'))).toEqual(range(1, 6));
    });

    it('still honours idempotency keys, also of messages retention dropped', async () => {
      const store = await make({ maxMessages: 2 });
      const [first] = await store.append('s', [input('a', { data: { v: 1 } })]);
      await store.append('s', inputs('m', 3));
      const reopened = await reopen(store, { maxMessages: 2 });
      const results = await reopened.append('s', [input('a', { data: { v: 2 } }), input('m2'), input('fresh')]);
      expect(results.map((r) => [r.offset, r.duplicate])).toEqual([
        [1, true],
        [4, true],
        [5, false],
      ]);
      expect(results[0]?.epoch).toBe(first?.epoch);
      expect(results[1]?.message).toMatchObject({ id: 'm2', offset: 4 });
    });

    it('keeps what retention removed removed', async () => {
      const store = await make({ maxMessages: 3, maxAgeMs: 60_000 });
      await store.append('s', [...inputs('old', 3, { ts: T0 }), ...inputs('new', 2, { ts: T0 + 120_000 })]);
      expect(await store.prune(T0 + 60_001)).toBe(1);
      const info = await store.info('s');
      expect(info).toMatchObject({ head: 5, first: 4 });
      const reopened = await reopen(store, { maxMessages: 3, maxAgeMs: 60_000 });
      expect(await reopened.info('s')).toEqual(info);
      expect((await readAll(reopened, 's')).map((m) => m.id)).toEqual(['new0', 'new1']);
    });
  });
}
