/**
 * The SQLite engine's schema, connection settings and statements (the engine itself is
 * sqlite-store.ts). The SQL is exported so that tests can check its query plans.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, TetherError } from '@tether/protocol';
import { READ_STATE_SCHEMA } from './sqlite-read-state.js';
import { DEFAULT_CHECKPOINT_PAGES } from './types.js';

/**
 * Bumped when the schema or the meaning of a column changes; a file from a newer Tether is refused,
 * not misread. 2: messages gain `priority` (added by the migration; NULL reads as normal), and
 * appends no longer rewrite a stream's row (its head and first are derived from the messages, see
 * `SQL.streamBounds`): a version-1 file reads the same, but a version-1 Tether would take the stale
 * head of a version-2 file for the truth. 3: the read state (`read_positions`, `last_seen`,
 * sqlite-read-state.ts): additive, but a version-2 Tether serving a version-3 file would let read
 * positions freeze while the log moves on (unread counts wrong after a rollback), so it refuses it.
 */
export const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  epoch TEXT NOT NULL,
  -- head and first as of the stream's creation or its last age prune: appends do not rewrite this
  -- row (it would cost a page per message). The current values are derived (sqlite-store.ts
  -- withBounds): head is the larger of head and the highest stored offset; first is the lowest
  -- stored offset, or head + 1 when nothing is retained.
  head INTEGER NOT NULL,   -- last offset assigned (at least), 0 when nothing was appended
  first INTEGER NOT NULL   -- oldest retained offset (when the row was written)
);
CREATE TABLE IF NOT EXISTS messages (
  stream_id INTEGER NOT NULL,
  msg_offset INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,      -- JSON
  ts INTEGER NOT NULL,
  ttl INTEGER,
  critical INTEGER,
  collapse_key TEXT,
  priority TEXT            -- 'high' or 'low'; NULL is 'normal' (schema 2)
);
-- A rowid table with a separate (stream, offset) index copes better with large payloads than a
-- WITHOUT ROWID table; every read and trim goes through this index.
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_offset ON messages (stream_id, msg_offset);
CREATE INDEX IF NOT EXISTS messages_by_ts ON messages (ts);
-- Keys outlive their messages (and vice versa): retention and the idempotency window are independent.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  stream_id INTEGER NOT NULL,
  id TEXT NOT NULL,
  msg_offset INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (stream_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_ts ON idempotency_keys (ts);
-- One row the readiness probe rewrites: proof that the file still takes writes (see write-probe.ts).
CREATE TABLE IF NOT EXISTS probe (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  pad BLOB
);
`;

const MESSAGE_COLUMNS = 'msg_offset, id, type, data, ts, ttl, critical, collapse_key, priority';

export const SQL = {
  selectStream: 'SELECT id, epoch, head, first FROM streams WHERE name = ?',
  insertStream: 'INSERT INTO streams (name, epoch, head, first) VALUES (?, ?, 0, 1) RETURNING id, epoch, head, first',
  selectStreamById: 'SELECT id, name, epoch, head, first FROM streams WHERE id = ?',
  updateStream: 'UPDATE streams SET head = ?, first = ? WHERE id = ?',
  // The lowest and highest stored offsets of a stream (two index seeks; NULLs when it has none).
  streamBounds: `SELECT
    (SELECT msg_offset FROM messages INDEXED BY messages_by_offset WHERE stream_id = ? ORDER BY msg_offset LIMIT 1) AS low,
    (SELECT msg_offset FROM messages INDEXED BY messages_by_offset WHERE stream_id = ? ORDER BY msg_offset DESC LIMIT 1) AS high`,
  // Only the key conflict is ignored (not OR IGNORE): any other failure must still raise.
  insertKey:
    'INSERT INTO idempotency_keys (stream_id, id, msg_offset, ts) VALUES (?, ?, ?, ?) ON CONFLICT (stream_id, id) DO NOTHING',
  selectKeyOffset: 'SELECT msg_offset FROM idempotency_keys WHERE stream_id = ? AND id = ?',
  // Expired keys go in chunks: up to the ts of the Nth oldest, then the next N.
  keyChunkCutoff: `SELECT ts FROM idempotency_keys INDEXED BY idempotency_keys_by_ts
    WHERE ts <= ? ORDER BY ts LIMIT 1 OFFSET ?`,
  deleteKeysUpTo: 'DELETE FROM idempotency_keys INDEXED BY idempotency_keys_by_ts WHERE ts <= ?',
  insertMessage: `INSERT INTO messages (stream_id, ${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  selectMessage: `SELECT ${MESSAGE_COLUMNS} FROM messages INDEXED BY messages_by_offset WHERE stream_id = ? AND msg_offset = ?`,
  readRange: `SELECT ${MESSAGE_COLUMNS} FROM messages INDEXED BY messages_by_offset
    WHERE stream_id = ? AND msg_offset > ? ORDER BY msg_offset LIMIT ?`,
  deleteBefore: 'DELETE FROM messages INDEXED BY messages_by_offset WHERE stream_id = ? AND msg_offset < ?',
  streamsWithExpired: 'SELECT DISTINCT stream_id FROM messages INDEXED BY messages_by_ts WHERE ts <= ?',
  // Walks the stream's expired prefix only: age retention removes a prefix, never a hole.
  firstFreshOffset: `SELECT msg_offset FROM messages INDEXED BY messages_by_offset
    WHERE stream_id = ? AND ts > ? ORDER BY msg_offset LIMIT 1`,
  // pad: as many bytes as the write that last failed, so that success means there is room again.
  writeProbe: `INSERT INTO probe (id, ts, pad) VALUES (1, ?, zeroblob(?))
    ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, pad = excluded.pad`,
} as const;

export interface StreamRow {
  id: number;
  epoch: string;
  head: number;
  first: number;
}

export interface StreamBounds {
  low: number | null;
  high: number | null;
}

export interface MessageRow {
  msg_offset: number;
  id: string;
  type: string;
  data: string;
  ts: number;
  ttl: number | null;
  critical: number | null;
  collapse_key: string | null;
  priority: string | null;
}

type MessageValues = [
  streamId: number,
  offset: number,
  id: string,
  type: string,
  data: string,
  ts: number,
  ttl: number | null,
  critical: number | null,
  collapseKey: string | null,
  priority: string | null,
];

type Statement<Params extends unknown[], Row = unknown> = Database.Statement<Params, Row>;

/** The prepared statements, typed by their parameters and rows (plucked ones yield one value). */
export interface SqliteStatements {
  selectStream: Statement<[name: string], StreamRow>;
  insertStream: Statement<[name: string, epoch: string], StreamRow>;
  selectStreamById: Statement<[streamId: number], StreamRow & { name: string }>;
  updateStream: Statement<[head: number, first: number, streamId: number]>;
  streamBounds: Statement<[streamId: number, sameStreamId: number], StreamBounds>;
  insertKey: Statement<[streamId: number, id: string, offset: number, ts: number]>;
  selectKeyOffset: Statement<[streamId: number, id: string], number>;
  keyChunkCutoff: Statement<[cutoff: number, skip: number], number>;
  deleteKeysUpTo: Statement<[cutoff: number]>;
  insertMessage: Statement<MessageValues>;
  selectMessage: Statement<[streamId: number, offset: number], MessageRow>;
  readRange: Statement<[streamId: number, after: number, limit: number], MessageRow>;
  deleteBefore: Statement<[streamId: number, offset: number]>;
  streamsWithExpired: Statement<[cutoff: number], number>;
  firstFreshOffset: Statement<[streamId: number, cutoff: number], number>;
  writeProbe: Statement<[ts: number, padBytes: number]>;
}

export function prepareStatements(db: Database.Database): SqliteStatements {
  return {
    selectStream: db.prepare(SQL.selectStream),
    insertStream: db.prepare(SQL.insertStream),
    selectStreamById: db.prepare(SQL.selectStreamById),
    updateStream: db.prepare(SQL.updateStream),
    streamBounds: db.prepare(SQL.streamBounds),
    insertKey: db.prepare(SQL.insertKey),
    selectKeyOffset: db.prepare<[number, string], number>(SQL.selectKeyOffset).pluck(),
    keyChunkCutoff: db.prepare<[number, number], number>(SQL.keyChunkCutoff).pluck(),
    deleteKeysUpTo: db.prepare(SQL.deleteKeysUpTo),
    insertMessage: db.prepare(SQL.insertMessage),
    selectMessage: db.prepare(SQL.selectMessage),
    readRange: db.prepare(SQL.readRange),
    deleteBefore: db.prepare(SQL.deleteBefore),
    streamsWithExpired: db.prepare<[number], number>(SQL.streamsWithExpired).pluck(),
    firstFreshOffset: db.prepare<[number, number], number>(SQL.firstFreshOffset).pluck(),
    writeProbe: db.prepare(SQL.writeProbe),
  };
}

/**
 * Opens (creating the parent directory and the schema if needed) and configures the database.
 * Throws `store_unavailable` when the file cannot be used.
 */
export function openDatabase(path: string, checkpointPages: number = DEFAULT_CHECKPOINT_PAGES): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    db = new Database(path);
    configure(db, checkpointPages);
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    const reason = err instanceof Error ? err.message : String(err);
    throw new TetherError(ErrorCode.StoreUnavailable, `cannot open the SQLite store at ${path}: ${reason}`, {
      cause: err,
    });
  }
}

function configure(db: Database.Database, checkpointPages: number): void {
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal' && !db.memory) throw new Error(`WAL journal mode unavailable (got ${String(journalMode)})`);
  // NORMAL is enough under WAL for our promise: a commit is written to the WAL file before the
  // append resolves, so a killed *process* loses nothing (the OS holds the pages). Only a power
  // loss or kernel crash can drop the last commits, since NORMAL fsyncs at checkpoints, not commits.
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${checkpointPages}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
}

function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new Error(`written by a newer Tether (schema ${version}; this version knows ${SCHEMA_VERSION})`);
  }
  db.transaction(() => {
    db.exec(SCHEMA);
    // Schema 1 → 2: messages gain `priority` (NULL reads as normal, so old rows need no rewrite).
    if (!hasColumn(db, 'messages', 'priority')) db.exec('ALTER TABLE messages ADD COLUMN priority TEXT');
    // Schema 2 → 3: the read state's tables (empty: nobody has read anything yet).
    db.exec(READ_STATE_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  const columns = db.pragma(`table_info(${table})`) as { name: string }[];
  return columns.some((c) => c.name === column);
}
