import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '@tether/protocol';
import { SQL, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SqliteLogStore } from '../../src/store/sqlite-store.js';
import type { AppendInput } from '../../src/store/types.js';
import { runLogStoreConformance } from './conformance.js';
import { messagesInDataFile } from './sqlite-files.js';
import { T0, expectStoreUnavailable, input, inputs, readAll } from './conformance-fixtures.js';

type DropFirst<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

let dir = '';
let made = 0;
const lastPath = (): string => join(dir, `store-${made}.db`);
const opened: SqliteLogStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-sqlite-'));
  made = 0;
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

runLogStoreConformance(
  'sqlite',
  (retention) => {
    made += 1;
    return new SqliteLogStore(lastPath(), retention);
  },
  {
    reopen: (retention) => new SqliteLogStore(lastPath(), retention),
    storedStreams: (store) => (store instanceof SqliteLogStore ? countStreamRows(store.path) : NaN),
  },
);

/** Rows of the streams table, read through a connection of its own. */
function countStreamRows(path: string): number {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.prepare<[], number>('SELECT count(*) FROM streams').pluck().get() ?? NaN;
  } finally {
    raw.close();
  }
}

function open(path: string, ...options: DropFirst<ConstructorParameters<typeof SqliteLogStore>>): SqliteLogStore {
  const store = new SqliteLogStore(path, ...options);
  opened.push(store);
  return store;
}

function openFailure(path: string): unknown {
  try {
    new SqliteLogStore(path).close().catch(() => undefined);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('SqliteLogStore', () => {
  it('creates missing parent directories and uses WAL', async () => {
    const path = join(dir, 'a', 'b', 'tether.db');
    const store = open(path);
    await store.append('s', [input('a')]);
    expect(existsSync(path)).toBe(true);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });

  it('reads, trims and prunes through indexes, never a table scan or sort', () => {
    open(join(dir, 'plan.db'));
    const raw = new Database(join(dir, 'plan.db'), { readonly: true });
    const plan = (sql: string, ...params: unknown[]): string =>
      raw
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((row) => row.detail)
        .join('\n');
    const byOffset = [plan(SQL.readRange, 1, 0, 10), plan(SQL.selectMessage, 1, 1), plan(SQL.firstFreshOffset, 1, 0)];
    for (const detail of byOffset) {
      expect(detail).toMatch(/SEARCH messages USING INDEX messages_by_offset \(stream_id=\?/);
      expect(detail).not.toMatch(/SCAN|TEMP B-TREE/);
    }
    // The two bounds of a stream (a row loaded after a restart): two seeks at its ends of the index.
    const bounds = plan(SQL.streamBounds, 1, 1);
    expect(bounds.match(/SEARCH messages USING COVERING INDEX messages_by_offset \(stream_id=\?\)/g)).toHaveLength(2);
    expect(bounds).not.toMatch(/SCAN messages|TEMP B-TREE/); // "SCAN CONSTANT ROW" is the outer SELECT
    expect(plan(SQL.streamsWithExpired, 0)).toMatch(/messages_by_ts \(ts<\?\)/);
    expect(plan(SQL.selectKeyOffset, 1, 'x')).toMatch(/SEARCH idempotency_keys USING PRIMARY KEY/);
    expect(plan(SQL.keyChunkCutoff, 0, 0)).toMatch(/idempotency_keys_by_ts \(ts<\?\)/);
    raw.close();
  });

  it('close checkpoints the WAL into the database file, even with another reader open', async () => {
    const path = join(dir, 'close.db');
    const store = open(path);
    await store.append('s', inputs('m', 500));
    // Another connection keeps SQLite from checkpointing on its own when the store closes.
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 500 });
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    await store.close();
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
    reader.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 500 });
    raw.close();
  });

  it('checkpoints the WAL into the data file once it holds checkpointPages pages, not before', async () => {
    // No checkpoints off the loop here (sqlite-checkpoint.test.ts): only the writer's own.
    const often = open(join(dir, 'often.db'), {}, {}, {}, { checkpointPages: 20, checkpointIntervalMs: 0 });
    const rarely = open(join(dir, 'rarely.db'), {}, {}, {}, { checkpointPages: 1_000_000, checkpointIntervalMs: 0 });
    for (let i = 0; i < 200; i += 1) {
      await often.append(`s${i}`, inputs(`m${i}-`, 5));
      await rarely.append(`s${i}`, inputs(`m${i}-`, 5));
    }
    expect(messagesInDataFile(often.path, dir)).toBeGreaterThan(500);
    expect(messagesInDataFile(rarely.path, dir)).toBe(0);
    expect(() => new SqliteLogStore(join(dir, 'bad.db'), {}, {}, {}, { checkpointPages: 0 })).toThrow(RangeError);
    expect(() => new SqliteLogStore(join(dir, 'bad.db'), {}, {}, {}, { checkpointPages: 1.5 })).toThrow(RangeError);
  });

  it('loses no accepted message when the process dies without closing', async () => {
    // What a SIGKILLed process leaves behind: the database and WAL files as written, no checkpoint.
    const path = join(dir, 'live.db');
    const store = open(path);
    await store.append('s', inputs('m', 20, { critical: true }));
    const [last] = await store.append('s', [input('last', { data: { n: 1 } })]);
    const before = await store.info('s');
    const crashDir = join(dir, 'crash');
    mkdirSync(crashDir);
    copyFileSync(path, join(crashDir, 'live.db'));
    copyFileSync(`${path}-wal`, join(crashDir, 'live.db-wal'));

    const recovered = open(join(crashDir, 'live.db'));
    expect(await recovered.info('s')).toEqual(before);
    expect((await readAll(recovered, 's')).at(-1)).toStrictEqual(last?.message);
    expect((await recovered.append('s', [input('m3')]))[0]).toMatchObject({ offset: 4, duplicate: true });
  });

  it('appends leave the stream row alone, and a restart finds every head and first from the messages', async () => {
    const path = join(dir, 'heads.db');
    const maxAgeMs = 60_000;
    const store = open(path, { maxMessages: 3, maxAgeMs });
    await store.append('trimmed', inputs('t', 10, { ts: T0 + maxAgeMs })); // count retention keeps 8..10
    await store.append('emptied', inputs('e', 4, { ts: T0 })); // age prune removes all 4
    await store.append('refilled', inputs('r', 2, { ts: T0 })); // pruned, then written again
    await store.append('fresh', inputs('f', 2, { ts: T0 + maxAgeMs }));
    expect(await store.prune(T0 + maxAgeMs)).toBe(5); // emptied 2..4, refilled 1..2
    await store.append('refilled', [input('r-late', { ts: T0 + maxAgeMs })]);
    await store.append('fresh', [input('f-late', { ts: T0 + maxAgeMs })]);
    const expected = {
      trimmed: { head: 10, first: 8 },
      emptied: { head: 4, first: 5 },
      refilled: { head: 3, first: 3 },
      fresh: { head: 3, first: 1 },
    };
    for (const [stream, info] of Object.entries(expected)) expect(await store.info(stream)).toMatchObject(info);
    // The row of a stream that was only appended to still says what its creation wrote.
    const raw = new Database(path, { readonly: true });
    const rows = raw.prepare<[], { name: string; head: number }>('SELECT name, head FROM streams').all();
    raw.close();
    expect(rows).toContainEqual({ name: 'fresh', head: 0 });
    await store.close();

    // Killed or closed alike: the reopened store derives the same heads, and appends carry on after them.
    const reopened = open(path, { maxMessages: 3, maxAgeMs });
    for (const [stream, info] of Object.entries(expected)) expect(await reopened.info(stream)).toMatchObject(info);
    for (const [stream, { head }] of Object.entries(expected)) {
      const [next] = await reopened.append(stream, [input(`${stream}-next`, { ts: T0 + maxAgeMs })]);
      expect(next, stream).toMatchObject({ offset: head + 1, duplicate: false });
    }
    expect((await reopened.read('trimmed', 0, 10)).messages.map((m) => m.offset)).toEqual([9, 10, 11]);
    expect((await reopened.read('emptied', 0, 10)).messages.map((m) => m.id)).toEqual(['emptied-next']);
  });

  it('opens a file of schema version 1 (stream rows kept current by every append) and reads it the same', async () => {
    const path = join(dir, 'v1.db');
    const store = open(path, { maxMessages: 3 });
    await store.append('s', inputs('m', 5));
    await store.close();
    // What version 1 left: the same tables, the row holding the current head and first.
    const raw = new Database(path);
    raw.prepare("UPDATE streams SET head = 5, first = 3 WHERE name = 's'").run();
    raw.pragma('user_version = 1');
    raw.close();
    const reopened = open(path, { maxMessages: 3 });
    expect(await reopened.info('s')).toMatchObject({ head: 5, first: 3 });
    expect((await reopened.append('s', [input('next')]))[0]).toMatchObject({ offset: 6, duplicate: false });
    await reopened.close();
    const upgraded = new Database(path, { readonly: true });
    expect(upgraded.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    upgraded.close();
  });

  it('turns a SQLite failure into store_unavailable with the cause', async () => {
    const path = join(dir, 'broken.db');
    const store = open(path);
    await store.append('s', [input('a')]);
    const raw = new Database(path);
    raw.exec('DROP TABLE messages');
    raw.close();
    const failure: unknown = await store.append('s', [input('b')]).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TetherError);
    expect(failure).toMatchObject({ code: 'store_unavailable' });
    expect((failure as TetherError).cause).toBeInstanceOf(Database.SqliteError);
    await expectStoreUnavailable(store.read('s', 0, 10));
  });

  it('refuses files it cannot use with store_unavailable', () => {
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database'.repeat(300));
    const directory = join(dir, 'is-a-directory');
    mkdirSync(directory);
    const newer = join(dir, 'newer.db');
    const raw = new Database(newer);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    for (const path of [garbage, directory, newer]) {
      const failure = openFailure(path);
      expect(failure, path).toBeInstanceOf(TetherError);
      expect(failure, path).toMatchObject({ code: 'store_unavailable' });
    }
    expect(String((openFailure(newer) as Error).message)).toMatch(/newer Tether/);
  });

  it('opens a schema-1 file (no priority column), keeps its messages and stores priorities from then on', async () => {
    const path = join(dir, 'schema-1.db');
    const raw = new Database(path);
    raw.exec(`
      CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, epoch TEXT NOT NULL,
        head INTEGER NOT NULL, first INTEGER NOT NULL);
      CREATE TABLE messages (stream_id INTEGER NOT NULL, msg_offset INTEGER NOT NULL, id TEXT NOT NULL,
        type TEXT NOT NULL, data TEXT NOT NULL, ts INTEGER NOT NULL, ttl INTEGER, critical INTEGER, collapse_key TEXT);
      CREATE UNIQUE INDEX messages_by_offset ON messages (stream_id, msg_offset);
      INSERT INTO streams (id, name, epoch, head, first) VALUES (1, 'old', 'e-old', 2, 1);
      INSERT INTO messages VALUES (1, 1, 'a', 't', '{"n":1}', ${T0}, NULL, 1, NULL);
      INSERT INTO messages VALUES (1, 2, 'b', 't', '{"n":2}', ${T0}, 500, NULL, 'k');
    `);
    raw.pragma('user_version = 1');
    raw.close();

    const store = open(path);
    expect(await readAll(store, 'old')).toStrictEqual([
      { id: 'a', type: 't', data: { n: 1 }, ts: T0, offset: 1, critical: true },
      { id: 'b', type: 't', data: { n: 2 }, ts: T0, offset: 2, ttl: 500, collapseKey: 'k' },
    ]);
    const [appended] = await store.append('old', [input('c', { priority: 'high' })]);
    expect(appended).toMatchObject({ offset: 3, epoch: 'e-old', duplicate: false });
    expect((await store.read('old', 2, 10)).messages.map((m) => m.priority)).toStrictEqual(['high']);
    await store.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
    // Opened again at the new version: nothing to migrate, everything still there.
    expect((await readAll(open(path), 'old')).map((m) => m.id)).toStrictEqual(['a', 'b', 'c']);
  });

  it('prunes in chunks: large prunes remove exactly what expired', async () => {
    const maxAgeMs = 60_000;
    // Small chunks, so that both chunk loops turn many times.
    const store = open(join(dir, 'big.db'), { maxAgeMs, idempotencyWindowMs: maxAgeMs }, { messages: 700, keys: 900 });
    // 60 streams of 1000 messages, every message one ms younger than the one before.
    const streams = Array.from({ length: 60 }, (_, s) => `s${s}`);
    for (const [s, stream] of streams.entries()) {
      const batch: AppendInput[] = Array.from({ length: 1000 }, (_, i) =>
        input(`${stream}-${i}`, { ts: T0 + s * 1000 + i }),
      );
      await store.append(stream, batch);
    }
    // Half expire: streams s0…s29 entirely (30 000 messages, keys too).
    expect(await store.prune(T0 + 30_000 - 1 + maxAgeMs)).toBe(30_000);
    expect(await store.info('s29')).toMatchObject({ head: 1000, first: 1001 });
    expect(await store.info('s30')).toMatchObject({ head: 1000, first: 1 });
    // The youngest expired key is forgotten too (the key chunks went all the way).
    expect((await store.append('s29', [input('s29-999', { ts: T0 + 10 * 60_000 })]))[0]).toMatchObject({
      offset: 1001,
      duplicate: false,
    });
    expect((await store.append('s30', [input('s30-5')]))[0]).toMatchObject({ offset: 6, duplicate: true });
    // Mid-stream cutoff: s30 keeps its last 500.
    expect(await store.prune(T0 + 30_499 + maxAgeMs)).toBe(500);
    expect(await store.info('s30')).toMatchObject({ head: 1000, first: 501 });
    // Everything older than the s29 append goes: s30's last 500 and s31…s59.
    expect(await store.prune(T0 + 10 * 60_000)).toBe(29_500);
    expect(await store.info('s29')).toMatchObject({ head: 1001, first: 1001 });
  });

  it('serves appends while a large prune runs', async () => {
    const store = open(join(dir, 'busy.db'), { maxAgeMs: 1000 }, { messages: 2000 });
    for (let s = 0; s < 20; s += 1) await store.append(`s${s}`, inputs(`s${s}-`, 1000, { ts: T0 }));
    const pruning = store.prune(T0 + 5000);
    const appended = store.append('s0', [input('fresh', { ts: T0 + 5000 })]);
    const settled: string[] = [];
    void pruning.then(() => settled.push('prune'));
    void appended.then(() => settled.push('append'));
    const [removed, [fresh]] = await Promise.all([pruning, appended]);
    // The append did not wait for the whole prune: prune yields between its transactions.
    expect(settled).toEqual(['append', 'prune']);
    expect(removed).toBe(20_000);
    expect(fresh).toMatchObject({ offset: 1001, duplicate: false });
    expect(await store.info('s0')).toMatchObject({ head: 1001, first: 1001 });
    expect((await readAll(store, 's0')).map((m) => m.id)).toEqual(['fresh']);
  });
});
