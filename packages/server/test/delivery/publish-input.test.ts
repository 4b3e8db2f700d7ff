/**
 * The publish input's hand check (publish-input.ts) against the schema it stands in for: for any
 * input, the same verdict, the same fields, the same refusal.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TetherError, httpPublishSchema, parseFrame } from '@tether/protocol';
import { parsePublishInput } from '../../src/delivery/publish-input.js';

/** The schema's answer: the parsed body, or the refusal's code and message. */
function bySchema(input: unknown): unknown {
  try {
    return { ok: parseFrame(httpPublishSchema, input, 'publish input') };
  } catch (err) {
    return { refused: refusal(err) };
  }
}

function byHand(input: unknown): unknown {
  try {
    return { ok: parsePublishInput(input, 'publish input') };
  } catch (err) {
    return { refused: refusal(err) };
  }
}

function refusal(err: unknown): unknown {
  return err instanceof TetherError ? { code: err.code, message: err.message } : err;
}

const nameChars = fc.constantFrom(...'abcXYZ09_-.:@=+/ é'.split(''));
const names = fc.oneof(
  fc.string({ unit: nameChars, minLength: 0, maxLength: 12 }),
  fc.constantFrom('user:bench-1', 'room:general', '__proto__', 'a'.repeat(200), 'a'.repeat(201), 'default'),
);
const types = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'tick', 'x'.repeat(100), 'x'.repeat(101)),
  fc.integer(),
);
const publishLike = fc.record(
  {
    channel: fc.oneof(names, fc.integer(), fc.constant(null)),
    type: types,
    data: fc.jsonValue(),
    tenant: fc.oneof(names, fc.constant(undefined), fc.integer()),
    id: fc.string({ minLength: 1, maxLength: 4 }),
    ttl: fc.integer({ min: -1, max: 10 }),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

/** Mostly the common shape, valid or nearly: the hand check's own path. */
const commonLike = fc.record(
  {
    channel: fc.oneof(fc.constantFrom('user:bench-1', 'room:general', 'a', '__proto__', 'x'.repeat(201)), names),
    type: types,
    data: fc.oneof(fc.jsonValue(), fc.constant(undefined)),
    tenant: fc.oneof(fc.constantFrom('bench', 'default', 'a.b-c_d', 'no/slash', ''), fc.constant(undefined)),
  },
  { requiredKeys: ['channel', 'type', 'data'] },
);

describe('parsePublishInput', () => {
  it('answers every input as httpPublishSchema does', () => {
    fc.assert(
      fc.property(fc.oneof(commonLike, publishLike, fc.anything()), (input) => {
        expect(byHand(input)).toStrictEqual(bySchema(input));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the common shape without the schema, as a new object', () => {
    const input = { channel: 'user:bench-1', type: 'tick', data: { seq: 1 } };
    const parsed = parsePublishInput(input, 'publish input');
    expect(parsed).toStrictEqual(input);
    expect(parsed).not.toBe(input);
    expect(parsed.data).toBe(input.data);
    expect(parsePublishInput({ ...input, tenant: 't1' }, 'publish input')).toStrictEqual({ ...input, tenant: 't1' });
  });

  it('refuses what the schema refuses: a missing data key, an inherited key, a bad tenant', () => {
    expect(byHand({ channel: 'a', type: 't' })).toStrictEqual(bySchema({ channel: 'a', type: 't' }));
    expect(byHand({ channel: 'a', type: 't' })).toHaveProperty('refused');
    const inherited: Record<string, unknown> = Object.create({ extra: 1 }) as Record<string, unknown>;
    Object.assign(inherited, { channel: 'a', type: 't', data: 1 });
    expect(byHand(inherited)).toStrictEqual(bySchema(inherited));
    expect(byHand(inherited)).toHaveProperty('refused');
    const badTenant = { channel: 'a', type: 't', data: 1, tenant: 'no/slash' };
    expect(byHand(badTenant)).toStrictEqual(bySchema(badTenant));
    expect(byHand(badTenant)).toHaveProperty('refused');
    const ownProto: unknown = JSON.parse('{"channel":"a","type":"t","data":1,"__proto__":{"x":1}}');
    expect(byHand(ownProto)).toStrictEqual(bySchema(ownProto));
  });
});
