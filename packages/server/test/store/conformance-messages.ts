/** Conformance: what goes in comes out — JSON data and the optional fields, in one normal form. */
import { describe, expect, it } from 'vitest';
import type { AppendInput } from '../../src/store/types.js';
import { dataJsonOf, rememberDataJson } from '../../src/store/message-json.js';
import { T0, input, readAll, type ConformanceContext } from './conformance-fixtures.js';

/** JSON values that tend to break stores: nesting, unicode, escapes, number edge cases. */
export const jsonSamples: ReadonlyArray<[string, unknown]> = [
  ['nested object', { a: { b: { c: [1, { d: 'e' }] } }, empty: {}, list: [] }],
  ['unicode', { text: 'héllo wörld ✓ 日本語 עברית 👩‍👩‍👧 e\u0301', key: '🔑' }],
  ['escapes', 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800'],
  ['null', null],
  ['numbers', [0, -1, 1.5, -0.25, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]],
  ['array of mixed', [1, 'two', null, true, false, { three: 3 }, [4]]],
  ['string', 'plain'],
  ['empty string', ''],
  ['number', 42],
  ['boolean', false],
];

const requiredKeys = ['data', 'id', 'offset', 'ts', 'type'];

export function describeMessages({ make }: ConformanceContext): void {
  describe('message contents', () => {
    it('round-trips JSON data through append and read', async () => {
      const store = await make();
      await store.append(
        's',
        jsonSamples.map(([name, data]) => input(name, { data })),
      );
      const stored = await readAll(store, 's');
      expect(stored.map((m) => [m.id, m.data])).toStrictEqual(jsonSamples);
    });

    it('returns in the append result the same message that a read returns', async () => {
      const store = await make();
      const results = await store.append('s', [input('a', { data: { x: [1, 2] }, ttl: 5, critical: true })]);
      const stored = await readAll(store, 's');
      expect(results.map((r) => r.message)).toStrictEqual(stored);
    });

    it('stores the JSON text the input carries (serialized once, by the publish door) and hands it on', async () => {
      const store = await make();
      const carried = input('carried', { data: { n: 1 } });
      // A text that differs from the object shows which one the store took.
      rememberDataJson(carried, '{"n":2}');
      const plain = input('plain', { data: { list: [1, 'two'] } });
      const results = await store.append('s', [carried, plain]);
      expect(results.map((r) => r.message.data)).toStrictEqual([{ n: 2 }, { list: [1, 'two'] }]);
      expect(results.map((r) => dataJsonOf(r.message))).toStrictEqual(['{"n":2}', '{"list":[1,"two"]}']);
      expect((await readAll(store, 's')).map((m) => m.data)).toStrictEqual([{ n: 2 }, { list: [1, 'two'] }]);
    });

    it('stores undefined data as null, as JSON would carry it', async () => {
      const store = await make();
      const [result] = await store.append('s', [input('u', { data: undefined })]);
      expect(result?.message.data).toBeNull();
      expect((await readAll(store, 's'))[0]?.data).toBeNull();
    });

    it('is not affected by later changes to the appended object', async () => {
      const store = await make();
      const data = { list: [1, 2], nested: { v: 'before' } };
      await store.append('s', [input('m', { data })]);
      data.list.push(3);
      data.nested.v = 'after';
      expect((await readAll(store, 's'))[0]?.data).toStrictEqual({ list: [1, 2], nested: { v: 'before' } });
    });

    it('round-trips ttl, critical and collapseKey', async () => {
      const store = await make();
      const full: AppendInput = {
        id: 'full',
        type: 'trip:requested',
        data: 1,
        ts: T0,
        ttl: 20_000,
        critical: true,
        collapseKey: 'trip:7',
      };
      const notCritical: AppendInput = { id: 'nc', type: 't', data: 2, ts: T0 + 1, critical: false };
      await store.append('s', [full, notCritical]);
      const [first, second] = await readAll(store, 's');
      expect(first).toStrictEqual({ ...full, offset: 1 });
      expect(second).toStrictEqual({ ...notCritical, offset: 2 });
    });

    it('round-trips priority high and low, and keeps normal as absent (the default)', async () => {
      const store = await make();
      const results = await store.append('s', [
        input('h', { priority: 'high' }),
        input('n', { priority: 'normal' }),
        input('l', { priority: 'low' }),
      ]);
      const stored = await readAll(store, 's');
      expect(stored.map((m) => m.priority)).toStrictEqual(['high', undefined, 'low']);
      expect(Object.keys(stored[1]!).sort()).toEqual(requiredKeys);
      expect(results.map((r) => r.message)).toStrictEqual(stored);
    });

    it('leaves absent optional fields absent (no undefined or null keys)', async () => {
      const store = await make();
      const explicitUndefined: AppendInput = {
        id: 'u',
        type: 't',
        data: 1,
        ts: T0,
        ttl: undefined,
        critical: undefined,
        collapseKey: undefined,
      };
      const results = await store.append('s', [input('plain'), explicitUndefined]);
      const stored = await readAll(store, 's');
      for (const message of [...stored, ...results.map((r) => r.message)]) {
        expect(Object.keys(message).sort()).toEqual(requiredKeys);
      }
      expect(stored[1]).toStrictEqual({ id: 'u', type: 't', data: 1, ts: T0, offset: 2 });
    });

    it('hands out read-only (frozen) messages, so that no reader can change the log', async () => {
      const store = await make();
      const results = await store.append('s', [input('a'), input('a')]);
      const read = await store.read('s', 0, 10);
      for (const message of [...results.map((r) => r.message), ...read.messages]) {
        expect(Object.isFrozen(message)).toBe(true);
      }
    });

    it('keeps the publish time exactly', async () => {
      const store = await make();
      await store.append('s', [input('a', { ts: 1_700_000_000_123 }), input('b', { ts: T0 })]);
      expect((await readAll(store, 's')).map((m) => m.ts)).toEqual([1_700_000_000_123, T0]);
    });
  });
}
