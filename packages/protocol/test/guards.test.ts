import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ackFrameSchema,
  handshakeAuthSchema,
  isAckFrame,
  isHandshakeAuth,
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
  handshake: {
    token: 'a.b.c',
    deviceId: 'phone-1',
    positions: { 'room:1': { epoch: 'e1', offset: 4 }, 'user:7': { offset: 0 } },
    extra: 'ignored',
  },
  envelope: {
    id: 'm-1',
    offset: 5,
    type: 'chat',
    data: { text: 'hi' },
    ts: 1_767_225_600_000,
    ttl: 1000,
    expiresAt: 1_767_225_601_000,
    supersedes: [4, 2],
  },
  msg: {
    channel: 'room:1',
    epoch: 'e1',
    messages: [
      { id: 'm-1', offset: 5, type: 'chat', data: null, ts: 1, critical: true, collapseKey: 'k', priority: 'high' },
    ],
    upTo: 6,
    from: 4,
  },
  resync: { channel: 'trip:9', epoch: 'e2', offset: 0 },
  error: { code: 'forbidden', message: 'no', channel: 'room:x', extra: 1 },
  pub: {
    channel: 'room:1',
    type: 'chat',
    data: [1, 2],
    id: 'p-1',
    ttl: 5,
    critical: false,
    collapseKey: 'c',
    priority: 'low',
  },
  ack: { acks: { 'room:1': 5, 'user:u-1': 0, 'a.b@c=d+e_f-g': Number.MAX_SAFE_INTEGER } },
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
  'high',
  'normal',
  'HIGH',
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
  ['ack', isAckFrame, ackFrameSchema, valid.ack],
  ['handshake auth', isHandshakeAuth, handshakeAuthSchema, valid.handshake],
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

// ---- the ack frame: the server's guard on its hottest path, held to the schema with hostile shapes ----

/** Record keys an attacker would try: forbidden names, edges of the length limit, numbers, prototypes. */
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    '/',
    'a/b',
    ' ',
    '0',
    '1e400',
  ),
  fc.constantFrom('x'.repeat(200), 'x'.repeat(201), 'room:é', 'room\u0000x', 'room:1\n'),
  fc.stringMatching(/^[A-Za-z0-9_\-.:@=+]{1,12}$/),
  fc.string({ maxLength: 12 }),
);
/** Offsets and not-offsets: non-finite, negative, fractional, past 2^53, other types. */
const hostileOffset = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, 1e300),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.nat(),
  fc.integer(),
  fc.double(),
  fc.constantFrom('5', null, undefined, true, [], {}, [1]),
);

/** Builds an object the way JSON.parse does (own `__proto__` keys included) from entries. */
function ownEntries(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Containers a record could arrive in, JSON-made or not. */
const hostileAcks = fc.oneof(
  fc.array(fc.tuple(hostileKey, hostileOffset), { maxLength: 8 }).map(ownEntries),
  fc.array(fc.tuple(fc.stringMatching(/^[a-z:]{1,8}$/), fc.nat()), { maxLength: 8 }).map(ownEntries),
  fc.constantFrom<unknown>(null, undefined, [], [1], 'acks', 5, new Date(0), Object.create(null), new Map()),
);
const hostileFrame = fc.oneof(
  hostileAcks.map((acks) => ({ acks })),
  fc.tuple(hostileAcks, hostileKey, hostileOffset).map(([acks, key, extra]) =>
    ownEntries([
      ['acks', acks],
      [key, extra],
    ]),
  ),
  fc.array(fc.tuple(hostileKey, hostileOffset), { maxLength: 3 }).map(ownEntries),
);

function agree(value: unknown): boolean {
  return isAckFrame(value) === ackFrameSchema.safeParse(value).success;
}

describe('the ack frame guard agrees with ackFrameSchema on hostile frames', () => {
  it('agrees on generated frames: forbidden keys, bad offsets, extra keys, odd containers', () => {
    fc.assert(fc.property(hostileFrame, agree), { numRuns: 5000, seed: 9 });
  });

  it('agrees on shapes JSON cannot make and zod still judges: prototypes, symbols, classes, getters', () => {
    const inherited = Object.create({ 'room:1': 1 }) as Record<string, unknown>;
    inherited['room:2'] = 2;
    const inheritedBad = Object.create({ 'bad/name': -1 }) as Record<string, unknown>;
    const frameWithInherited = Object.create({ extra: 1 }) as Record<string, unknown>;
    frameWithInherited.acks = {};
    const symbolKey = { [Symbol('s')]: 1 };
    const hiddenSymbol = Object.defineProperty({}, Symbol('s'), { value: 1, enumerable: false });
    const hiddenBad = Object.defineProperty({}, 'bad/name', { value: -1, enumerable: false });
    class Acks {
      'room:1' = 1;
    }
    const shapes: unknown[] = [
      JSON.parse('{"acks":{"__proto__":1}}'),
      JSON.parse('{"acks":{"room:1":1,"__proto__":{"x":1}}}'),
      JSON.parse('{"__proto__":{},"acks":{}}'),
      { acks: inherited },
      { acks: inheritedBad },
      frameWithInherited,
      { acks: symbolKey },
      { acks: hiddenSymbol },
      { acks: hiddenBad },
      { acks: new Acks() },
      { acks: Object.create(null) },
      Object.assign(Object.create(null), { acks: { 'room:1': 1 } }),
      Object.defineProperty({}, 'acks', { get: () => ({ 'room:1': 3 }), enumerable: true }),
      Object.defineProperty({}, 'acks', { value: {}, enumerable: false }),
      { acks: { constructor: 1 } },
      { acks: { constructor: 'x' } },
      { acks: { 'room:1': 2 ** 53 } },
      { acks: { 'room:1': -0 } },
      [],
      null,
      'acks',
    ];
    for (const shape of shapes) expect(agree(shape), String(JSON.stringify(shape))).toBe(true);
  });

  it('agrees on big frames: thousands of channels, with one bad entry anywhere', () => {
    const entries: [string, unknown][] = Array.from({ length: 5000 }, (_, i) => [`room:${i}`, i]);
    expect(isAckFrame({ acks: ownEntries(entries) })).toBe(true);
    for (const at of [0, 2500, 4999]) {
      for (const bad of [
        ['room:x', -1],
        ['room:x', 1.5],
        ['a/b', 1],
        ['__proto__', 1],
        ['x'.repeat(201), 1],
      ] as const) {
        const copy = entries.slice();
        copy[at] = [bad[0], bad[1]];
        const frame = { acks: ownEntries(copy) };
        expect(isAckFrame(frame)).toBe(false);
        expect(ackFrameSchema.safeParse(frame).success).toBe(false);
      }
    }
  });
});

// ---- the handshake's auth: every connection's first frame, held to the schema with hostile shapes ----

const hostilePosition = fc.oneof(
  fc.record({ offset: hostileOffset }),
  fc.record({
    epoch: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom<unknown>('', 5, null)),
    offset: hostileOffset,
  }),
  fc.tuple(hostileOffset, hostileKey).map(([offset, key]) =>
    ownEntries([
      ['offset', offset],
      [key, 1],
    ]),
  ),
  fc.constantFrom<unknown>(null, 5, 'p', [], [1], Object.create(null), new Date(0)),
);
const hostilePositions = fc.oneof(
  fc.array(fc.tuple(hostileKey, hostilePosition), { maxLength: 6 }).map(ownEntries),
  fc
    .array(fc.tuple(fc.stringMatching(/^[a-z:]{1,8}$/), fc.record({ offset: fc.nat() })), { maxLength: 6 })
    .map(ownEntries),
  fc.constantFrom<unknown>(undefined, null, [], 'positions', Object.create(null), new Map()),
);
const hostileAuth = fc.record(
  {
    token: fc.oneof(
      fc.constantFrom<unknown>('', 'x'.repeat(8192), 'x'.repeat(8193), 5, null),
      fc.string({ maxLength: 20 }),
    ),
    deviceId: fc.oneof(
      fc.constantFrom<unknown>('', 'd'.repeat(128), 'd'.repeat(129), 7, null),
      fc.string({ maxLength: 10 }),
    ),
    positions: hostilePositions,
    other: fc.constantFrom<unknown>(1, 'x', null),
  },
  { requiredKeys: [] },
);

describe('the handshake auth guard agrees with handshakeAuthSchema on hostile shapes', () => {
  it('agrees on generated auth: bad tokens and device ids, forbidden channel keys, bad positions, odd containers', () => {
    const agreeAuth = (value: unknown): boolean =>
      isHandshakeAuth(value) === handshakeAuthSchema.safeParse(value).success;
    fc.assert(fc.property(hostileAuth, agreeAuth), { numRuns: 5000, seed: 11 });
    fc.assert(fc.property(fc.constantFrom<unknown>(null, undefined, 5, 'auth', [], [{ token: 't' }]), agreeAuth), {
      numRuns: 50,
    });
    // Own `__proto__` channel keys (as JSON.parse makes them) are refused by both.
    const protoKey = JSON.parse('{"token":"t","positions":{"__proto__":{"offset":1}}}') as unknown;
    expect(isHandshakeAuth(protoKey)).toBe(false);
    expect(handshakeAuthSchema.safeParse(protoKey).success).toBe(false);
  });
});
