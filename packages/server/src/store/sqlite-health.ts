/**
 * Whether the SQLite store can take writes, for `/readyz` and for every append: a `SELECT 1`
 * answers while the disk is full or the data file was deleted, so it proves nothing.
 *
 * - The data file must still be the file we opened: its path is compared (dev, inode) with the
 *   file as opened, before every append and probe (one `stat`). A deleted data dir or a replaced
 *   file makes writes go where no restart would find them, so they are refused instead; the open
 *   handle still holds the data (an operator can copy it from `/proc/<pid>/fd`).
 * - A write probe (one row rewritten, see `SQL.writeProbe`) runs at most once per
 *   `PROBE_INTERVAL_MS`; its answer is cached, so `/readyz` stays cheap.
 * - An append that fails for lack of room (SQLITE_FULL, I/O errors: EFBIG and ENOSPC surface as
 *   SQLITE_IOERR_WRITE) makes the store not ready at once; the next probe writes as many bytes as
 *   that append, so the store is ready again once such a write fits (and after any append that
 *   succeeds). SQLite rolls the failed transaction back: the store stays usable.
 */
import { statSync, type Stats } from 'node:fs';
import { ErrorCode, TetherError } from '@tether/protocol';

/** How long a probe's answer is reused. */
export const PROBE_INTERVAL_MS = 1000;
/** The probe never writes more than this, whatever failed. */
const MAX_PROBE_BYTES = 4 * 2 ** 20;

interface ProbeAnswer {
  at: number;
  error: TetherError | undefined;
}

export class SqliteWriteHealth {
  private readonly identity: Pick<Stats, 'dev' | 'ino'> | undefined;
  private lastProbe: ProbeAnswer | undefined;
  /** Bytes of the append that last failed for lack of room; 0 once a write succeeded since. */
  private failedBytes = 0;

  /** `path` of the file just opened (`:memory:` has none to check). */
  constructor(
    private readonly path: string,
    private readonly probe: (padBytes: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.identity = path === ':memory:' ? undefined : identityOf(path);
  }

  /** Throws `store_unavailable` when the path no longer names the file we write to. */
  checkFile(): void {
    if (!this.identity) return;
    let current: Pick<Stats, 'dev' | 'ino'>;
    try {
      current = identityOf(this.path);
    } catch (err) {
      throw new TetherError(ErrorCode.StoreUnavailable, `the SQLite data file ${this.path} is gone; writes refused`, {
        cause: err,
      });
    }
    if (current.dev !== this.identity.dev || current.ino !== this.identity.ino) {
      throw new TetherError(
        ErrorCode.StoreUnavailable,
        `the SQLite data file ${this.path} was replaced by another file; writes refused`,
      );
    }
  }

  /** An append committed: there is room. */
  written(): void {
    if (this.failedBytes === 0) return;
    this.failedBytes = 0;
    this.lastProbe = undefined;
  }

  /** An append of about `bytes` failed with `err`; a storage error makes the store not ready at once. */
  failed(err: unknown, bytes: number): void {
    if (!isStorageError(err)) return;
    this.failedBytes = Math.min(MAX_PROBE_BYTES, Math.max(1, bytes));
    const error = new TetherError(ErrorCode.StoreUnavailable, 'the SQLite store cannot write', { cause: err });
    this.lastProbe = { at: this.now(), error };
  }

  /** Resolves when the store can write; the probe's answer is reused for `PROBE_INTERVAL_MS`. */
  check(): void {
    this.checkFile();
    const now = this.now();
    const last = this.lastProbe;
    if (last && now - last.at < PROBE_INTERVAL_MS) {
      if (last.error) throw last.error;
      return;
    }
    try {
      this.probe(this.failedBytes);
      this.failedBytes = 0;
      this.lastProbe = { at: now, error: undefined };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const error = new TetherError(ErrorCode.StoreUnavailable, `the SQLite store cannot write: ${reason}`, {
        cause: err,
      });
      this.lastProbe = { at: now, error };
      throw error;
    }
  }
}

function identityOf(path: string): Pick<Stats, 'dev' | 'ino'> {
  const { dev, ino } = statSync(path);
  return { dev, ino };
}

/** better-sqlite3's SqliteError carries the extended result code, e.g. `SQLITE_IOERR_WRITE`. */
function isStorageError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return /^SQLITE_(FULL|IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB)/.test(code);
}
