/** The JSON of a message's data, serialized once and kept beside the message (store/message-json.ts). */
import { describe, expect, it } from 'vitest';
import { storedMessage } from '../../src/store/store-support.js';
import {
  MAX_KEPT_DATA_JSON,
  carryDataJson,
  dataJsonOf,
  frozenMessageOfJson,
  knownDataJsonOf,
  rememberDataJson,
} from '../../src/store/message-json.js';

/** `data` whose serializations are counted (JSON.stringify calls `toJSON` once per serialization). */
function counted(value: unknown): { data: { toJSON(): unknown }; calls: () => number } {
  let calls = 0;
  return {
    data: {
      toJSON() {
        calls += 1;
        return value;
      },
    },
    calls: () => calls,
  };
}

describe('message-json', () => {
  it('serializes a message’s data once, and a copy made with carryDataJson shares the text', () => {
    const { data, calls } = counted({ n: 1 });
    const message = { data };
    expect(dataJsonOf(message)).toBe('{"n":1}');
    expect(dataJsonOf(message)).toBe('{"n":1}');
    expect(calls()).toBe(1);
    const copy = { data: { n: 1 } };
    carryDataJson(message, copy);
    expect(dataJsonOf(copy)).toBe('{"n":1}');
    expect(calls()).toBe(1);
    // Nothing is added to the message itself.
    expect(Object.keys(message)).toEqual(['data']);
  });

  it('keeps the text out of sight: no key, spread, JSON or strict equality sees it', () => {
    const message = { id: 'a', data: { n: 1 } };
    rememberDataJson(message, '{"n":1}');
    expect(knownDataJsonOf(message)).toBe('{"n":1}');
    expect(Object.keys(message)).toEqual(['id', 'data']);
    expect(JSON.stringify(message)).toBe('{"id":"a","data":{"n":1}}');
    expect({ ...message }).toStrictEqual({ id: 'a', data: { n: 1 } });
    expect(message).toStrictEqual({ id: 'a', data: { n: 1 } });
    expect(knownDataJsonOf({ ...message })).toBeUndefined();
    // An object frozen before its text was known still gets one (kept beside it).
    const frozen = Object.freeze({ data: { n: 2 } });
    expect(knownDataJsonOf(frozen)).toBeUndefined();
    expect(dataJsonOf(frozen)).toBe('{"n":2}');
    expect(knownDataJsonOf(frozen)).toBe('{"n":2}');
  });

  it('takes a remembered text as the data’s JSON, and undefined as null', () => {
    const message = { data: { n: 1 } };
    rememberDataJson(message, '{"n":1}');
    expect(dataJsonOf(message)).toBe('{"n":1}');
    expect(dataJsonOf({ data: undefined })).toBe('null');
  });

  it('does not keep long texts: a large message is serialized again rather than held twice', () => {
    const { data, calls } = counted('x'.repeat(MAX_KEPT_DATA_JSON));
    const message = { data };
    expect(dataJsonOf(message)).toHaveLength(MAX_KEPT_DATA_JSON + 2);
    expect(dataJsonOf(message)).toHaveLength(MAX_KEPT_DATA_JSON + 2);
    expect(calls()).toBe(2);
    const remembered = { data: 'y' };
    rememberDataJson(remembered, `"${'y'.repeat(MAX_KEPT_DATA_JSON)}"`);
    expect(dataJsonOf(remembered)).toBe('"y"');
    // At the bound it is kept.
    const { data: edge, calls: edgeCalls } = counted('z'.repeat(MAX_KEPT_DATA_JSON - 2));
    const atBound = { data: edge };
    dataJsonOf(atBound);
    dataJsonOf(atBound);
    expect(edgeCalls()).toBe(1);
  });

  it('builds a stored message from its data text that reads like the parsed normal form', () => {
    const head = { id: 'a', type: 't', ts: 5, offset: 7 };
    const optional = { ttl: 1000, critical: null, collapseKey: 'k', priority: 'high' as const };
    const text = '{"n":1,"list":[1,2]}';
    const message = frozenMessageOfJson(head, text, optional);
    const parsed = storedMessage({ ...head, data: { n: 1, list: [1, 2] } }, optional);
    expect(Object.isFrozen(message)).toBe(true);
    expect(Object.keys(message)).toEqual(Object.keys(parsed));
    expect(JSON.stringify(message)).toBe(JSON.stringify(parsed));
    expect({ ...message }).toStrictEqual(parsed);
    expect(message).toStrictEqual(parsed);
    expect(knownDataJsonOf(message)).toBe(text);
    // Parsed once: every read answers the same value.
    expect(message.data).toBe(message.data);
    // `undefined` data was stored as null; a text too long to keep is parsed at once, not kept.
    expect(frozenMessageOfJson(head, 'null', optional).data).toBeNull();
    const long = `"${'x'.repeat(MAX_KEPT_DATA_JSON)}"`;
    const big = frozenMessageOfJson(head, long, optional);
    expect(big.data).toBe('x'.repeat(MAX_KEPT_DATA_JSON));
    expect(knownDataJsonOf(big)).toBeUndefined();
    expect(big).toStrictEqual(storedMessage({ ...head, data: 'x'.repeat(MAX_KEPT_DATA_JSON) }, optional));
  });

  it('refuses data JSON cannot carry with bad_request', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => dataJsonOf({ data: cyclic })).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });
});
