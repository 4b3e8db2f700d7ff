/**
 * The SQLite read state beyond the conformance suite: a schema-2 file (before read state existed)
 * opens, gains the tables and keeps its log; a closed store answers `store_unavailable`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLogStore } from '../../src/store/sqlite-store.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { input } from './conformance-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-read-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite read state', () => {
  it('migrates a schema-2 file: read tables are added, the log is kept', async () => {
    const path = join(dir, 'v2.db');
    const store = new SqliteLogStore(path);
    await store.append('t/room:a', [input('a'), input('b')]);
    await store.close();
    const raw = new Database(path);
    raw.exec('DROP TABLE read_positions; DROP TABLE last_seen');
    raw.pragma('user_version = 2');
    raw.close();

    const upgraded = new SqliteLogStore(path);
    expect(SCHEMA_VERSION).toBe(3);
    expect(await upgraded.info('t/room:a')).toMatchObject({ head: 2 });
    expect(await upgraded.readState.markRead('t', 'u', 'room:a', 2)).toBe(2);
    expect(await upgraded.readState.readPositions('t', 'u')).toEqual(new Map([['room:a', 2]]));
    await upgraded.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();
  });

  it('a closed store refuses read-state calls with store_unavailable', async () => {
    const store = new SqliteLogStore(join(dir, 'closed.db'));
    await store.close();
    await expect(store.readState.markRead('t', 'u', 'c', 1)).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(store.readState.lastSeen('t', 'u')).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
