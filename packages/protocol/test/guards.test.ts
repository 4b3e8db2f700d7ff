import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  envelopeSchema,
  errorFrameSchema,
  isEnvelope,
  isErrorFrame,
  isMsgFrame,
  isPosition,
  isPubFrame,
  isResyncFrame,
  msgFrameSchema,
  positionSchema,
  pubFrameSchema,
  resyncFrameSchema,
} from '@tether/protocol';

/** A small seeded PRNG, so that a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const valid = {
  position: { epoch: 'e1', offset: 4 },
  envelope: { id: 'm-1', offset: 5, type: 'chat', data: { text: 'hi' }, ts: 1_767_225_600_000, ttl: 1000 },
  msg: {
    channel: 'room:1',
    epoch: 'e1',
    messages: [{ id: 'm-1', offset: 5, type: 'chat', data: null, ts: 1, critical: true, collapseKey: 'k' }],
    upTo: 6,
  },
  resync: { channel: 'trip:9', epoch: 'e2', offset: 0 },
  error: { code: 'forbidden', message: 'no', channel: 'room:x', extra: 1 },
  pub: { channel: 'room:1', type: 'chat', data: [1, 2], id: 'p-1', ttl: 5, critical: false, collapseKey: 'c' },
};

/** Odd values for a field: edge numbers, wrong types, long and empty strings, forbidden names. */
const oddities: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  366 * 24 * 3600 * 1000 + 1,
  '',
  'x',
  'x'.repeat(65),
  'x'.repeat(129),
  'x'.repeat(201),
  '__proto__',
  'has/slash',
  'ok:name',
  true,
  false,
  [],
  {},
  { offset: 1 },
  [{ id: 'a', offset: 1, type: 't', ts: 1 }],
];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  if (depth > 3 || typeof value !== 'object' || value === null) return oddities[Math.floor(random() * oddities.length)];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const keys = Object.keys(copy);
  const roll = random();
  if (roll < 0.15) (copy as Record<string, unknown>)[`extra${depth}`] = 1;
  else if (roll < 0.3 && keys.length > 0)
    delete (copy as Record<string, unknown>)[keys[Math.floor(random() * keys.length)]!];
  else if (keys.length > 0) {
    const key = keys[Math.floor(random() * keys.length)]!;
    const target = copy as Record<string, unknown>;
    target[key] =
      random() < 0.5 ? mutate(target[key], random, depth + 1) : oddities[Math.floor(random() * oddities.length)];
  }
  return copy;
}

const pairs: [string, (v: unknown) => boolean, z.ZodType, unknown][] = [
  ['position', isPosition, positionSchema, valid.position],
  ['envelope', isEnvelope, envelopeSchema, valid.envelope],
  ['msg', isMsgFrame, msgFrameSchema, valid.msg],
  ['resync', isResyncFrame, resyncFrameSchema, valid.resync],
  ['error', isErrorFrame, errorFrameSchema, valid.error],
  ['pub', isPubFrame, pubFrameSchema, valid.pub],
];

describe('dependency-free guards agree with the zod schemas', () => {
  for (const [name, guard, schema, sample] of pairs) {
    it(`${name}: the valid sample passes both, and 3000 mutations get the same verdict`, () => {
      expect(guard(sample)).toBe(true);
      expect(schema.safeParse(sample).success).toBe(true);
      const random = prng(name.length * 7919);
      let rejected = 0;
      for (let i = 0; i < 3000; i++) {
        let value: unknown = sample;
        const rounds = 1 + Math.floor(random() * 3);
        for (let r = 0; r < rounds; r++) value = mutate(value, random);
        const expected = schema.safeParse(value).success;
        if (guard(value) !== expected)
          throw new Error(`${name} disagrees on ${JSON.stringify(value)}: zod ${expected}`);
        if (!expected) rejected++;
      }
      expect(rejected).toBeGreaterThan(500); // the mutations really exercise the refusals
    });
  }
});
