/**
 * The SQLite engine's ReadStateStore, in the log's database file (schema 3, sqlite-schema.ts):
 * `read_positions` (tenant, sub, channel → offset) and `last_seen` (tenant, sub → at). Both writes
 * are one upsert whose `WHERE` keeps them monotonic, so no read-modify-write race is possible.
 */
import type Database from 'better-sqlite3';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { ReadStateStore } from '../presence/types.js';

export const READ_STATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS read_positions (
  tenant TEXT NOT NULL,
  sub TEXT NOT NULL,
  channel TEXT NOT NULL,
  msg_offset INTEGER NOT NULL,
  PRIMARY KEY (tenant, sub, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS last_seen (
  tenant TEXT NOT NULL,
  sub TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (tenant, sub)
) WITHOUT ROWID;
`;

interface PositionRow {
  channel: string;
  msg_offset: number;
}

function prepareReadState(db: Database.Database) {
  return {
    markRead: db.prepare<[string, string, string, number]>(
      `INSERT INTO read_positions (tenant, sub, channel, msg_offset) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant, sub, channel) DO UPDATE SET msg_offset = excluded.msg_offset
       WHERE excluded.msg_offset > read_positions.msg_offset`,
    ),
    position: db
      .prepare<[string, string, string], number>(
        'SELECT msg_offset FROM read_positions WHERE tenant = ? AND sub = ? AND channel = ?',
      )
      .pluck(),
    positionsOf: db.prepare<[string, string], PositionRow>(
      'SELECT channel, msg_offset FROM read_positions WHERE tenant = ? AND sub = ?',
    ),
    touch: db.prepare<[string, string, number]>(
      `INSERT INTO last_seen (tenant, sub, at) VALUES (?, ?, ?)
       ON CONFLICT (tenant, sub) DO UPDATE SET at = excluded.at WHERE excluded.at > last_seen.at`,
    ),
    lastSeen: db.prepare<[string, string], number>('SELECT at FROM last_seen WHERE tenant = ? AND sub = ?').pluck(),
  };
}

export class SqliteReadStateStore implements ReadStateStore {
  private readonly statements: ReturnType<typeof prepareReadState>;
  private readonly markReadTransaction: (tenant: string, sub: string, channel: string, offset: number) => number;

  constructor(db: Database.Database) {
    this.statements = prepareReadState(db);
    this.markReadTransaction = db.transaction((tenant: string, sub: string, channel: string, offset: number) => {
      this.statements.markRead.run(tenant, sub, channel, offset);
      return this.statements.position.get(tenant, sub, channel) ?? 0;
    });
  }

  async markRead(tenant: string, sub: string, channel: string, offset: number): Promise<number> {
    return guard('markRead', () => this.markReadTransaction(tenant, sub, channel, offset));
  }

  async readPositions(tenant: string, sub: string, channels?: readonly string[]): Promise<Map<string, number>> {
    return guard('readPositions', () => {
      if (channels === undefined) {
        return new Map(this.statements.positionsOf.all(tenant, sub).map((row) => [row.channel, row.msg_offset]));
      }
      return new Map(channels.map((channel) => [channel, this.statements.position.get(tenant, sub, channel) ?? 0]));
    });
  }

  async touchLastSeen(tenant: string, sub: string, at: number): Promise<void> {
    guard('touchLastSeen', () => this.statements.touch.run(tenant, sub, Math.floor(at)));
  }

  async lastSeen(tenant: string, sub: string): Promise<number | null> {
    return guard('lastSeen', () => this.statements.lastSeen.get(tenant, sub) ?? null);
  }
}

/** better-sqlite3 throws synchronously (a closed database, a full disk): the caller's `store_unavailable`. */
function guard<T>(operation: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TetherError(ErrorCode.StoreUnavailable, `SQLite read state ${operation} failed: ${reason}`, {
      cause: err,
    });
  }
}
