/** The guard's pure pieces: the JSON depth scan, the data shape check, the error mapping. */
import { describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { jsonDeeperThan } from '../src/guard/json-depth.js';
import { checkDataShape } from '../src/guard/data-shape.js';
import { documentedError } from '../src/guard/guard.js';

const codeOf = (run: () => void): string | undefined => {
  try {
    run();
    return undefined;
  } catch (err) {
    return (err as TetherError).code;
  }
};

describe('jsonDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(jsonDeeperThan('[[[]]]', 3)).toBe(false);
    expect(jsonDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(jsonDeeperThan('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(jsonDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(jsonDeeperThan(`["${'['.repeat(100)}"]`, 1)).toBe(false);
    expect(jsonDeeperThan(`["\\"${'{'.repeat(100)}"]`, 1)).toBe(false);
    expect(jsonDeeperThan(`["\\\\",[[]]]`, 2)).toBe(true);
    expect(jsonDeeperThan(`42${'['.repeat(40)}`, 34)).toBe(true);
  });
});

describe('checkDataShape', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
    return v;
  };

  it('allows depth up to the limit, refuses one more with bad_request', () => {
    expect(codeOf(() => checkDataShape(nested(32), 32, 1000))).toBeUndefined();
    expect(codeOf(() => checkDataShape(nested(33), 32, 1000))).toBe('bad_request');
    expect(codeOf(() => checkDataShape('scalar', 0, 10))).toBeUndefined();
  });

  it('ends on cycles and on widely shared graphs, and refuses binary values', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic, cyclic);
    expect(codeOf(() => checkDataShape(cyclic, 32, 65_536))).toBe('bad_request');
    // 2^30 paths through 30 shared nodes: the value budget ends the walk.
    let shared: unknown = 0;
    for (let i = 0; i < 30; i++) shared = [shared, shared];
    expect(codeOf(() => checkDataShape(shared, 32, 65_536))).toBe('payload_too_large');
    expect(codeOf(() => checkDataShape({ b: Buffer.from('x') }, 32, 100))).toBe('bad_request');
    expect(codeOf(() => checkDataShape(new Array(100_000).fill(0), 32, 65_536))).toBe('payload_too_large');
  });
});

describe('documentedError', () => {
  it('keeps TetherErrors, maps fastify client errors, and calls everything else internal', () => {
    const mine = new TetherError('forbidden', 'no');
    expect(documentedError(mine)).toBe(mine);
    const tooLarge = Object.assign(new Error('big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(documentedError(tooLarge).code).toBe('payload_too_large');
    const badJson = Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 });
    expect(documentedError(badJson).code).toBe('bad_request');
    expect(documentedError(new TypeError('x is undefined')).code).toBe('internal');
    expect(documentedError('a string').code).toBe('internal');
    expect(documentedError(undefined).code).toBe('internal');
  });
});
