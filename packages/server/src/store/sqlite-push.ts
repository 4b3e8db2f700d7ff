/**
 * The SQLite engine's PushStore, in the log's database file. Its tables are created with
 * `IF NOT EXISTS` when the store opens, so a file written before push existed opens as it is and
 * gains them (additive: an older Tether ignores tables it does not know, so the schema version
 * does not change).
 */
import type Database from 'better-sqlite3';
import type { PushDevice } from '../push/provider.js';
import type { DeviceMatch, PushDue, PushStore } from './push-types.js';

const PUSH_SCHEMA = `
CREATE TABLE IF NOT EXISTS push_devices (
  tenant TEXT NOT NULL,
  sub TEXT NOT NULL,
  provider TEXT NOT NULL,
  token TEXT NOT NULL,
  device_id TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, sub, provider, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_claims (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_claims_by_expiry ON push_claims (expires_at);
CREATE TABLE IF NOT EXISTS push_due (
  key TEXT PRIMARY KEY,
  due_at INTEGER NOT NULL,
  entry TEXT NOT NULL      -- the PushDue as JSON
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_due_by_time ON push_due (due_at);
`;

interface DeviceRow {
  tenant: string;
  sub: string;
  provider: string;
  token: string;
  device_id: string;
}

/** Creates the push tables if missing; the log store calls it when it opens the file. */
export function migratePush(db: Database.Database): void {
  db.exec(PUSH_SCHEMA);
}

function preparePush(db: Database.Database) {
  return {
    deleteRotated: db.prepare<[string, string, string, string, string]>(
      'DELETE FROM push_devices WHERE tenant = ? AND sub = ? AND provider = ? AND (token = ? OR device_id = ?)',
    ),
    insertDevice: db.prepare<[string, string, string, string, string, number]>(
      `INSERT INTO push_devices (tenant, sub, provider, token, device_id, registered_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM push_devices))`,
    ),
    devicesOf: db.prepare<[string, string], DeviceRow>(
      `SELECT tenant, sub, provider, token, device_id FROM push_devices WHERE tenant = ? AND sub = ?
       ORDER BY registered_at DESC, seq DESC`,
    ),
    evictBeyond: db.prepare<[string, string, string, string, number]>(
      `DELETE FROM push_devices WHERE tenant = ? AND sub = ? AND (provider, token) IN (
         SELECT provider, token FROM push_devices WHERE tenant = ? AND sub = ?
         ORDER BY registered_at DESC, seq DESC LIMIT -1 OFFSET ?)`,
    ),
    deleteByToken: db.prepare<[string, string, string, string]>(
      'DELETE FROM push_devices WHERE tenant = ? AND sub = ? AND provider = ? AND token = ?',
    ),
    deleteByDevice: db.prepare<[string, string, string]>(
      'DELETE FROM push_devices WHERE tenant = ? AND sub = ? AND device_id = ?',
    ),
    claimExpiry: db.prepare<[string], number>('SELECT expires_at FROM push_claims WHERE key = ?').pluck(),
    upsertClaim: db.prepare<[string, number]>(
      `INSERT INTO push_claims (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    upsertDue: db.prepare<[string, number, string]>(
      `INSERT INTO push_due (key, due_at, entry) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, entry = excluded.entry`,
    ),
    updateDue: db.prepare<[number, string, string]>('UPDATE push_due SET due_at = ?, entry = ? WHERE key = ?'),
    selectDue: db.prepare<[number, number], { entry: string }>(
      'SELECT entry FROM push_due INDEXED BY push_due_by_time WHERE due_at <= ? ORDER BY due_at LIMIT ?',
    ),
    deleteDue: db.prepare<[string]>('DELETE FROM push_due WHERE key = ?'),
    pruneClaims: db.prepare<[number]>('DELETE FROM push_claims WHERE expires_at <= ?'),
  };
}

type PushStatements = ReturnType<typeof preparePush>;

export class SqlitePushStore implements PushStore {
  private readonly register: (device: PushDevice, maxPerUser: number, now: number) => { evicted: number };
  private readonly claim: (due: PushDue, claimTtlMs: number, now: number) => boolean;
  private readonly take: (now: number, limit: number, leaseUntil: number) => PushDue[];
  private readonly statements: PushStatements;

  constructor(db: Database.Database) {
    migratePush(db);
    const s = preparePush(db);
    this.statements = s;
    this.register = db.transaction((device: PushDevice, maxPerUser: number, now: number) => {
      const { tenant, sub, provider, token, deviceId } = device;
      s.deleteRotated.run(tenant, sub, provider, token, deviceId);
      s.insertDevice.run(tenant, sub, provider, token, deviceId, now);
      return { evicted: s.evictBeyond.run(tenant, sub, tenant, sub, maxPerUser).changes };
    });
    this.claim = db.transaction((due: PushDue, claimTtlMs: number, now: number) => {
      const expires = s.claimExpiry.get(due.key);
      if (expires !== undefined && expires > now) return false;
      s.upsertClaim.run(due.key, now + claimTtlMs);
      s.upsertDue.run(due.key, due.dueAt, JSON.stringify(due));
      return true;
    });
    this.take = db.transaction((now: number, limit: number, leaseUntil: number) => {
      const entries = s.selectDue.all(now, limit).map((row) => JSON.parse(row.entry) as PushDue);
      for (const entry of entries) {
        entry.dueAt = leaseUntil;
        s.updateDue.run(leaseUntil, JSON.stringify(entry), entry.key);
      }
      return entries;
    });
  }

  async registerDevice(device: PushDevice, maxPerUser: number, now: number): Promise<{ evicted: number }> {
    return this.register(device, maxPerUser, now);
  }

  async unregisterDevices(tenant: string, sub: string, match: DeviceMatch): Promise<number> {
    const s = this.statements;
    if ('deviceId' in match) return s.deleteByDevice.run(tenant, sub, match.deviceId).changes;
    return s.deleteByToken.run(tenant, sub, match.provider, match.token).changes;
  }

  async devicesOf(tenant: string, sub: string): Promise<PushDevice[]> {
    return this.statements.devicesOf.all(tenant, sub).map((row) => ({
      tenant: row.tenant,
      sub: row.sub,
      provider: row.provider,
      token: row.token,
      deviceId: row.device_id,
    }));
  }

  async schedule(due: PushDue, claimTtlMs: number, now: number): Promise<boolean> {
    return this.claim(due, claimTtlMs, now);
  }

  async takeDue(now: number, limit: number, leaseUntil: number): Promise<PushDue[]> {
    return this.take(now, limit, leaseUntil);
  }

  async reschedule(due: PushDue): Promise<void> {
    this.statements.updateDue.run(due.dueAt, JSON.stringify(due), due.key);
  }

  async finish(key: string): Promise<void> {
    this.statements.deleteDue.run(key);
  }

  async pruneClaims(now: number): Promise<number> {
    return this.statements.pruneClaims.run(now).changes;
  }
}
