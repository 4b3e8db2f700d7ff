/** Group commit and the stream-row cache of the SQLite store (sqlite-store.ts, sqlite-group-commit.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { SqliteLogStore } from '../../src/store/sqlite-store.js';
import type { AppendResult } from '../../src/store/types.js';
import { T0, input, inputs, readAll } from './conformance-fixtures.js';

let dir = '';
const opened: SqliteLogStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-sqlite-gc-'));
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(...options: ConstructorParameters<typeof SqliteLogStore> extends [string, ...infer R] ? R : never) {
  const store = new SqliteLogStore(join(dir, 'gc.db'), ...options);
  opened.push(store);
  return store;
}

/** Writes through a connection of its own, as another process would. */
function rawWrite(sql: string, ...params: unknown[]): void {
  const raw = new Database(join(dir, 'gc.db'));
  try {
    raw.prepare(sql).run(...params);
  } finally {
    raw.close();
  }
}

function settle<T>(promise: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return promise.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
}

describe('SqliteLogStore group commit', () => {
  it('commits appends to many streams made in one turn in one transaction', async () => {
    const store = open();
    await store.append('warm', [input('w')]);
    const before = store.commitStats;
    const streams = Array.from({ length: 50 }, (_, i) => `inbox:${i}`);
    const results = await Promise.all(streams.map((stream) => store.append(stream, [input(`${stream}-a`)])));
    expect(store.commitStats).toEqual({ transactions: before.transactions + 1, appends: before.appends + 50 });
    for (const [i, stream] of streams.entries()) {
      expect(results[i]?.[0]).toMatchObject({ offset: 1, duplicate: false, message: { id: `${stream}-a` } });
      expect(await store.info(stream)).toMatchObject({ head: 1, first: 1 });
    }
  });

  it('writes the appends of one callback in one transaction as soon as it returns', async () => {
    const store = open();
    const before = store.commitStats.transactions;
    const pending: Promise<AppendResult[]>[] = [];
    const seenByNextCallback = await new Promise<number>((done) => {
      // As the Publisher flushes: one setImmediate callback appends to every channel of the turn.
      setImmediate(() => {
        for (let i = 0; i < 20; i += 1) pending.push(store.append(`ch:${i}`, [input(`m${i}`)]));
        // Anything the callback scheduled after its appends already sees them committed.
        process.nextTick(() => done(store.commitStats.transactions));
      });
    });
    // Written as the callback ended, as one transaction: no loop iteration (a turn) waited for.
    expect(seenByNextCallback).toBe(before + 1);
    const results = await Promise.all(pending);
    expect(results.map((r) => r[0]?.offset)).toEqual(Array.from({ length: 20 }, () => 1));
    expect(store.commitStats.transactions).toBe(before + 1);
  });

  it('keeps call order per stream and hands each caller its own results', async () => {
    const store = open();
    const calls = Array.from({ length: 30 }, (_, i) => store.append(i % 3 === 0 ? 'a' : 'b', [input(`m${i}`)]));
    const results = await Promise.all(calls);
    const offsets = { a: 0, b: 0 };
    for (const [i, [result]] of results.entries()) {
      const stream = i % 3 === 0 ? 'a' : 'b';
      offsets[stream] += 1;
      expect(result).toMatchObject({ offset: offsets[stream], message: { id: `m${i}` } });
    }
    expect((await readAll(store, 'a')).map((m) => m.id)).toEqual(
      range30()
        .filter((i) => i % 3 === 0)
        .map(id),
    );
    expect((await readAll(store, 'b')).map((m) => m.id)).toEqual(
      range30()
        .filter((i) => i % 3 !== 0)
        .map(id),
    );
    // A duplicate within the same batch is seen as one.
    const [first, again] = await Promise.all([store.append('c', [input('x')]), store.append('c', [input('x')])]);
    expect(first?.[0]).toMatchObject({ offset: 1, duplicate: false });
    expect(again?.[0]).toMatchObject({ offset: 1, duplicate: true });
  });

  it('rejects only the call that fails in a batch, atomically, and stays usable', async () => {
    const store = open();
    await store.append('bad', [input('b0')]);
    await store.append('good', [input('g0')]);
    // Another writer takes offset 3 of `bad`: its second input below hits the unique index.
    rawWrite(
      "INSERT INTO messages (stream_id, msg_offset, id, type, data, ts) SELECT id, 3, 'intruder', 't', 'null', 0 FROM streams WHERE name = 'bad'",
    );
    const before = store.commitStats;
    const [a, bad, good] = await Promise.all([
      settle(store.append('a', [input('a1')])),
      settle(store.append('bad', [input('b1'), input('b2')])),
      settle(store.append('good', [input('g1')])),
    ]);
    expect(a).toMatchObject({ ok: [{ offset: 1, duplicate: false }] });
    expect(good).toMatchObject({ ok: [{ offset: 2, duplicate: false }] });
    expect('err' in bad && bad.err).toBeInstanceOf(TetherError);
    expect(bad).toMatchObject({ err: { code: 'store_unavailable' } });
    expect((bad as { err: TetherError }).err.cause).toBeInstanceOf(Database.SqliteError);
    // The failed batch committed nothing; the two good calls were then written one by one.
    expect(store.commitStats).toEqual({ transactions: before.transactions + 2, appends: before.appends + 2 });
    // Nothing of the failed call stayed: head unchanged, its first input's key not taken.
    expect(await store.info('bad')).toMatchObject({ head: 1 });
    rawWrite("DELETE FROM messages WHERE id = 'intruder'");
    const retried = await store.append('bad', [input('b1'), input('b2')]);
    expect(retried.map((r) => [r.offset, r.duplicate])).toEqual([
      [2, false],
      [3, false],
    ]);
    expect((await readAll(store, 'good')).map((m) => m.id)).toEqual(['g0', 'g1']);
  });

  it('bounds the inputs per transaction and never splits a call', async () => {
    const store = open({}, {}, { maxInputs: 10 });
    const before = store.commitStats.transactions;
    const small = await Promise.all(Array.from({ length: 5 }, (_, i) => store.append(`s${i}`, inputs(`s${i}-`, 4))));
    // 4 + 4 | 4 + 4 | 4
    expect(store.commitStats.transactions).toBe(before + 3);
    expect(small.every((r) => r.length === 4)).toBe(true);
    const big = await store.append('big', inputs('big-', 25));
    expect(big.map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(store.commitStats.transactions).toBe(before + 4);
  });

  it('writes what was accepted before close, and refuses appends after it', async () => {
    const store = open();
    const pending = store.append('s', [input('last')]);
    await store.close();
    expect((await pending)[0]).toMatchObject({ offset: 1 });
    await expect(store.append('s', [input('late')])).rejects.toMatchObject({ code: 'store_unavailable' });
    const reopened = open();
    expect((await readAll(reopened, 's')).map((m) => m.id)).toEqual(['last']);
  });

  it('keeps the cached stream row exact across age retention', async () => {
    const store = open({ maxAgeMs: 1000 });
    await store.append('s', inputs('old-', 5, { ts: T0 }));
    expect(await store.prune(T0 + 5000)).toBe(5);
    await store.append('s', [input('fresh', { ts: T0 + 5000 })]);
    expect(await store.info('s')).toMatchObject({ head: 6, first: 6 });
    expect((await readAll(store, 's')).map((m) => m.id)).toEqual(['fresh']);
  });
});

function range30(): number[] {
  return Array.from({ length: 30 }, (_, i) => i);
}

function id(i: number): string {
  return `m${i}`;
}
