/** Conformance: idempotent appends, the idempotency window, and atomic batches. */
import { describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { T0, input, inputs, offsetsOf, readAll, type ConformanceContext } from './conformance-fixtures.js';

export function describeIdempotency({ make }: ConformanceContext): void {
  describe('idempotency', () => {
    it('a repeated id returns the first offset and message, and appends nothing', async () => {
      const store = await make();
      const [first] = await store.append('s', [input('a', { data: { v: 1 } })]);
      await store.append('s', [input('b')]);
      const [repeat] = await store.append('s', [input('a', { type: 'other', data: { v: 2 } })]);
      expect(repeat).toEqual({ offset: 1, epoch: first?.epoch, duplicate: true, message: first?.message });
      expect(repeat?.message).toMatchObject({ id: 'a', type: 'test', data: { v: 1 }, offset: 1 });
      expect(await store.info('s')).toMatchObject({ head: 2 });
      expect((await readAll(store, 's')).map((m) => m.id)).toEqual(['a', 'b']);
    });

    it('recognises duplicates inside one batch', async () => {
      const store = await make();
      await store.append('s', [input('x')]);
      const results = await store.append('s', [input('a'), input('b'), input('a'), input('x'), input('c')]);
      expect(results.map((r) => [r.offset, r.duplicate])).toEqual([
        [2, false],
        [3, false],
        [2, true],
        [1, true],
        [4, false],
      ]);
      expect(offsetsOf(await readAll(store, 's'))).toEqual([1, 2, 3, 4]);
    });

    it('scopes keys to their stream', async () => {
      const store = await make();
      const [inA] = await store.append('a/x', [input('same')]);
      const [inB] = await store.append('b/x', [input('same')]);
      expect(inA).toMatchObject({ offset: 1, duplicate: false });
      expect(inB).toMatchObject({ offset: 1, duplicate: false });
    });

    it('honours a key for the whole window and forgets it after prune past the window', async () => {
      const window = 10_000;
      const store = await make({ idempotencyWindowMs: window });
      await store.append('s', [input('a', { ts: T0 })]);
      // Never early: one ms before the window ends the key still holds.
      await store.prune(T0 + window - 1);
      expect((await store.append('s', [input('a', { ts: T0 + window - 1 })]))[0]).toMatchObject({
        offset: 1,
        duplicate: true,
      });
      // Engines may forget up to one second late (bucketed expiry), not more.
      await store.prune(T0 + window + 1000);
      const [again] = await store.append('s', [input('a', { ts: T0 + window + 1000 })]);
      expect(again).toMatchObject({ offset: 2, duplicate: false });
      expect(again?.message).toMatchObject({ id: 'a', offset: 2 });
      // The new append starts a new window for the key.
      expect((await store.append('s', [input('a')]))[0]).toMatchObject({ offset: 2, duplicate: true });
    });

    it('keeps keys of messages that count retention dropped', async () => {
      const store = await make({ maxMessages: 2 });
      await store.append('s', inputs('m', 5));
      expect(await store.info('s')).toMatchObject({ head: 5, first: 4 });
      const [repeat] = await store.append('s', [input('m0')]);
      expect(repeat).toMatchObject({ offset: 1, duplicate: true });
      expect(repeat?.message).toMatchObject({ id: 'm0', offset: 1 });
      expect(await store.info('s')).toMatchObject({ head: 5, first: 4 });
    });

    it('keeps messages whose keys expired (the two retentions are independent)', async () => {
      const store = await make({ idempotencyWindowMs: 1000, maxAgeMs: 3_600_000 });
      await store.append('s', [input('a', { ts: T0 })]);
      expect(await store.prune(T0 + 60_000)).toBe(0);
      expect((await readAll(store, 's')).map((m) => m.id)).toEqual(['a']);
      expect((await store.append('s', [input('a', { ts: T0 + 60_000 })]))[0]).toMatchObject({
        offset: 2,
        duplicate: false,
      });
    });

    it('records no key for an input with idempotent: false (a server-generated id)', async () => {
      const store = await make();
      const generated = input('gen', { idempotent: false });
      const results = await store.append('s', [generated, input('gen', { idempotent: false })]);
      expect(results.map((r) => [r.offset, r.duplicate])).toEqual([
        [1, false],
        [2, false],
      ]);
      // No key was left behind: the same id as a key later is new, and only from then on a key.
      expect((await store.append('s', [input('gen')]))[0]).toMatchObject({ offset: 3, duplicate: false });
      expect((await store.append('s', [input('gen')]))[0]).toMatchObject({ offset: 3, duplicate: true });
      // The flag is not part of the stored message.
      const stored = await readAll(store, 's');
      expect(stored[0]).toStrictEqual({ id: 'gen', type: 'test', data: { id: 'gen' }, ts: T0, offset: 1 });
      expect(results[0]?.message).toStrictEqual(stored[0]);
      // A keyed id is still found by a later keyed repeat when unkeyed inputs of that id come between.
      await store.append('s', [input('k')]);
      await store.append('s', [input('k', { idempotent: false })]);
      expect((await store.append('s', [input('k')]))[0]).toMatchObject({ offset: 4, duplicate: true });
      expect(await store.info('s')).toMatchObject({ head: 5 });
    });

    it('applies a batch whole or not at all', async () => {
      const store = await make();
      await store.append('s', [input('before')]);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const failure: unknown = await store.append('s', [input('ok'), input('bad', { data: cyclic })]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(TetherError);
      expect(failure).toMatchObject({ code: 'bad_request' });
      expect(await store.info('s')).toMatchObject({ head: 1 });
      // The good input of the failed batch left no idempotency key behind.
      expect((await store.append('s', [input('ok')]))[0]).toMatchObject({ offset: 2, duplicate: false });
    });
  });
}
