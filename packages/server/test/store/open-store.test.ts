import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MemoryLogStore,
  SqliteLogStore,
  defaultRetention,
  openStore,
  resolveRetention,
  type LogStore,
} from '../../src/store/index.js';
import { inputs } from './conformance-fixtures.js';

let dir = '';
const opened: LogStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-open-store-'));
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(spec: string, retention?: Parameters<typeof openStore>[1]): LogStore {
  const store = openStore(spec, retention);
  opened.push(store);
  return store;
}

describe('openStore', () => {
  it('opens the memory engine', () => {
    const store = open('memory');
    expect(store).toBeInstanceOf(MemoryLogStore);
    expect(store.engine).toBe('memory');
  });

  it('opens the sqlite engine at a path, creating its directory', () => {
    const path = join(dir, 'data', 'tether.db');
    const store = open(`sqlite:${path}`);
    expect(store).toBeInstanceOf(SqliteLogStore);
    expect(store.engine).toBe('sqlite');
    expect(existsSync(path)).toBe(true);
  });

  it('passes retention on', async () => {
    for (const spec of ['memory', `sqlite:${join(dir, 'r.db')}`]) {
      const store = open(spec, { maxMessages: 2 });
      await store.append('s', inputs('m', 5));
      expect(await store.info('s'), spec).toMatchObject({ head: 5, first: 4 });
    }
  });

  it('throws a TypeError naming the accepted specs for anything else', () => {
    for (const spec of ['', 'memory:', 'sqlite:', 'postgres://db', 'redis:', 'SQLITE:x.db']) {
      expect(() => open(spec), spec).toThrow(TypeError);
    }
    expect(() => open('mongodb://x')).toThrow(/"memory" or "sqlite:PATH"/);
  });
});

describe('resolveRetention', () => {
  it('merges over the defaults, ignoring undefined keys', () => {
    expect(resolveRetention()).toEqual(defaultRetention);
    expect(resolveRetention({ maxMessages: 5, maxAgeMs: undefined })).toEqual({ ...defaultRetention, maxMessages: 5 });
  });

  it('rejects values that would break retention', () => {
    for (const bad of [{ maxMessages: 0 }, { maxMessages: 1.5 }, { maxAgeMs: 0 }, { idempotencyWindowMs: -1 }]) {
      expect(() => resolveRetention(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => new MemoryLogStore({ maxMessages: -3 })).toThrow(RangeError);
  });
});
