/**
 * The embedded durable LogStore on better-sqlite3 (WAL). better-sqlite3 is synchronous, so each
 * operation runs whole: calls never interleave. Appends are group-committed (sqlite-group-commit.ts):
 * the calls of one event-loop turn, across streams, share one transaction, and each promise resolves
 * only once that transaction committed. Each call stays atomic: when one call of a batch fails, the
 * batch rolls back and every call is written again in a transaction of its own, so only the failing
 * call rejects. Stream rows (epoch, head, first) are cached, so an append does not SELECT its row,
 * and not rewritten by appends: head and first are derived from the messages when a row is loaded.
 */
import type Database from 'better-sqlite3';
import { SqliteCheckpointer, type CheckpointStats } from './sqlite-checkpointer.js';
import { ErrorCode, TetherError } from '@tether/protocol';
import {
  DEFAULT_CHECKPOINT_PAGES,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  UNWRITTEN_EPOCH,
  type AppendInput,
  type AppendResult,
  type LogStore,
  type ReadResult,
  type RetentionOptions,
  type StoredMessage,
  type StreamInfo,
} from './types.js';
import {
  newEpoch,
  resolveRetention,
  setOptionalColumns,
  storeClosedError,
  storedPriorityOf,
  type StoredPriority,
} from './store-support.js';
import { RetentionByChannel } from './channel-retention.js';
import { SqliteWriteHealth } from './sqlite-health.js';
import { dataJsonOf, frozenMessageOfJson } from './message-json.js';
import { GroupCommit } from './sqlite-group-commit.js';
import { SqlitePushStore } from './sqlite-push.js';
import type { PushStore } from './push-types.js';
import { SqliteReadStateStore } from './sqlite-read-state.js';
import type { ReadStateStore } from '../presence/types.js';
import {
  openDatabase,
  prepareStatements,
  type MessageRow,
  type SqliteStatements,
  type StreamRow,
} from './sqlite-schema.js';

/** How `prune` splits its work into transactions (the defaults suit production; tests shrink them). */
export interface SqlitePruneChunks {
  /** Messages deleted per transaction: large enough to be efficient, small enough not to stall others. */
  messages: number;
  /**
   * Idempotency keys deleted per transaction. Larger: ids are random, so every chunk dirties pages
   * all over the key index; 50k keeps the total near one big delete, with stalls of ~0.2 s.
   */
  keys: number;
}

const defaultPruneChunks: SqlitePruneChunks = { messages: 5000, keys: 50_000 };

/** How appends are grouped into transactions (the default suits production; tests shrink it). */
export interface SqliteGroupCommitOptions {
  /** Inputs per transaction at most (a larger single call still goes whole, alone). */
  maxInputs: number;
}

const defaultGroupCommit: SqliteGroupCommitOptions = { maxInputs: 2000 };

/** How the data file is kept (the server's `sqliteCheckpointPages`, `sqliteCheckpointIntervalMs`). */
export interface SqliteFileOptions {
  /** Pages of write-ahead log after which a commit checkpoints it itself (`DEFAULT_CHECKPOINT_PAGES`). */
  checkpointPages: number;
  /** A checkpoint off the event loop at most this often while commits come in, ms; 0: none (sqlite-checkpointer.ts). */
  checkpointIntervalMs: number;
}

/** Above this many cached stream rows the cache starts over (a bound on memory, not on correctness). */
const MAX_CACHED_STREAMS = 100_000;

/** Counters of the append path, for tests and metrics. */
export interface SqliteCommitStats {
  /** Append transactions committed. */
  transactions: number;
  /** Append calls those transactions carried. */
  appends: number;
}

/** One append call waiting for its turn's transaction. */
interface QueuedAppend {
  stream: string;
  inputs: readonly PreparedInput[];
  weight: number;
  resolve: (results: AppendResult[]) => void;
  reject: (err: unknown) => void;
}

interface PruneChunk {
  removed: number;
  /** Index of the next stream to visit. */
  next: number;
}

/** An input ready for the messages table: data already JSON text. */
interface PreparedInput {
  id: string;
  /** False: no idempotency key row (a server-generated id). */
  keyed: boolean;
  type: string;
  data: string;
  ts: number;
  ttl: number | null;
  critical: boolean | null;
  collapseKey: string | null;
  priority: StoredPriority | null;
}

export class SqliteLogStore implements LogStore {
  readonly engine = 'sqlite';
  readonly push: PushStore;
  readonly readState: ReadStateStore;
  readonly path: string;
  private readonly retention: RetentionOptions;
  private readonly byChannel: RetentionByChannel;
  private readonly pruneChunks: SqlitePruneChunks;
  private readonly db: Database.Database;
  private readonly statements: SqliteStatements;
  private readonly appendTransaction: (
    calls: readonly QueuedAppend[],
    written: Map<string, StreamRow>,
  ) => AppendResult[][];
  private readonly groupCommit: GroupCommit<QueuedAppend>;
  /** Stream rows as committed, by name: exact, since only this store writes them (prune drops its entries). */
  private readonly streamRows = new Map<string, StreamRow>();
  private readonly stats: SqliteCommitStats = { transactions: 0, appends: 0 };
  private readonly pruneTransaction: (streamIds: readonly number[], start: number, now: number) => PruneChunk;
  private readonly health: SqliteWriteHealth;
  /** Checkpoints off the event loop; none for `:memory:` or an interval of 0. */
  private readonly checkpointer: SqliteCheckpointer | undefined;
  private closed = false;

  /** Opens or creates the database at `path` (its parent directory too). Throws `store_unavailable`. */
  constructor(
    path: string,
    retention: Partial<RetentionOptions> = {},
    pruneChunks: Partial<SqlitePruneChunks> = {},
    groupCommit: Partial<SqliteGroupCommitOptions> = {},
    file: Partial<SqliteFileOptions> = {},
  ) {
    const checkpointPages = file.checkpointPages ?? DEFAULT_CHECKPOINT_PAGES;
    if (!Number.isSafeInteger(checkpointPages) || checkpointPages < 1) {
      throw new RangeError(`sqliteCheckpointPages must be a whole number >= 1, got ${checkpointPages}`);
    }
    const checkpointIntervalMs = file.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!Number.isSafeInteger(checkpointIntervalMs) || checkpointIntervalMs < 0) {
      throw new RangeError(`sqliteCheckpointIntervalMs must be a whole number >= 0, got ${checkpointIntervalMs}`);
    }
    this.path = path;
    this.retention = resolveRetention(retention);
    this.byChannel = new RetentionByChannel(this.retention);
    this.pruneChunks = { ...defaultPruneChunks, ...pruneChunks };
    this.db = openDatabase(path, checkpointPages);
    try {
      this.statements = prepareStatements(this.db);
      this.push = new SqlitePushStore(this.db);
      this.readState = new SqliteReadStateStore(this.db);
    } catch (err) {
      this.db.close();
      throw new TetherError(ErrorCode.StoreUnavailable, `cannot prepare the SQLite store at ${path}`, { cause: err });
    }
    this.appendTransaction = this.db.transaction((calls: readonly QueuedAppend[], written: Map<string, StreamRow>) =>
      calls.map((call) => this.appendInTransaction(call.stream, call.inputs, written)),
    );
    const { maxInputs } = { ...defaultGroupCommit, ...groupCommit };
    this.groupCommit = new GroupCommit((calls) => this.writeBatch(calls), maxInputs);
    this.pruneTransaction = this.db.transaction((streamIds: readonly number[], start: number, now: number) =>
      this.pruneInTransaction(streamIds, start, now),
    );
    this.health = new SqliteWriteHealth(path, (padBytes) => this.writeProbe(padBytes));
    this.checkpointer =
      this.db.memory || checkpointIntervalMs === 0
        ? undefined
        : new SqliteCheckpointer({ path, intervalMs: checkpointIntervalMs });
  }

  async append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    // Serialise before the transaction opens: unserialisable data is the caller's `bad_request`.
    const prepared = inputs.map(prepareInput);
    if (prepared.length === 0) return this.guard('append', () => []);
    if (this.closed) throw storeClosedError(this.engine);
    return new Promise((resolve, reject) => {
      this.groupCommit.enqueue({ stream, inputs: prepared, weight: prepared.length, resolve, reject });
    });
  }

  /** What the append path did so far (a copy). */
  get commitStats(): SqliteCommitStats {
    return { ...this.stats };
  }

  /** What the checkpoints off the event loop did so far; undefined when there are none. */
  get checkpointStats(): CheckpointStats | undefined {
    return this.checkpointer?.stats;
  }

  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    return this.guard('read', () => {
      const row = this.committedRow(stream);
      if (row === undefined) return { ...UNWRITTEN, messages: [] };
      // SQLite reads a negative LIMIT as "no limit".
      const rowLimit = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : -1;
      const messages = this.statements.readRange.all(row.id, after, rowLimit).map(messageOf);
      return { ...infoOf(row), messages };
    });
  }

  async info(stream: string): Promise<StreamInfo> {
    return this.guard('info', () => {
      const row = this.committedRow(stream);
      return row === undefined ? { ...UNWRITTEN } : infoOf(row);
    });
  }

  /**
   * Works in transactions of bounded size and yields between them, so that a large prune does not
   * stall appends and reads for long. Each transaction is consistent on its own.
   */
  async prune(now: number): Promise<number> {
    // Streams holding anything older than the shortest age of any rule; each is then cut at its own age.
    const messageCutoff = now - this.byChannel.shortestMaxAgeMs;
    const streamIds = this.guard('prune', () => this.statements.streamsWithExpired.all(messageCutoff));
    let removed = 0;
    for (let next = 0; next < streamIds.length;) {
      if (next > 0) await yieldToEventLoop();
      const chunk = this.guard('prune', () => this.pruneTransaction(streamIds, next, now));
      removed += chunk.removed;
      next = chunk.next;
    }
    const keyCutoff = now - this.retention.idempotencyWindowMs;
    for (;;) {
      const { keyChunkCutoff, deleteKeysUpTo } = this.statements;
      const upTo = this.guard('prune', () => {
        const chunkCutoff = keyChunkCutoff.get(keyCutoff, this.pruneChunks.keys - 1) ?? keyCutoff;
        deleteKeysUpTo.run(chunkCutoff);
        return chunkCutoff;
      });
      if (upTo >= keyCutoff) break;
      await yieldToEventLoop();
    }
    if (removed > 0) this.checkpointer?.written();
    return removed;
  }

  /** Resolves when the data file is still ours and takes writes (a cached write probe: sqlite-health.ts). */
  async ping(): Promise<void> {
    this.guard('ping', () => this.health.check());
  }

  /** Checkpoints the WAL into the main file (so the file alone is complete) and closes. */
  async close(): Promise<void> {
    // The worker's connection closes first: the last checkpoint below needs the log to itself.
    await this.checkpointer?.close();
    if (!this.closed) this.groupCommit.flushAll(); // what was accepted before close is written
    this.guard('close', () => {
      this.closed = true;
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    });
  }

  /**
   * Writes one batch in one transaction and settles its calls. If it fails, nothing of it was
   * written (SQLite rolled back, the row cache is untouched); a batch of several calls is then
   * written again call by call, so that only the failing call rejects and each call stays atomic.
   */
  private writeBatch(calls: readonly QueuedAppend[]): void {
    const written = new Map<string, StreamRow>();
    let results: AppendResult[][];
    try {
      if (this.closed) throw storeClosedError(this.engine);
      this.health.checkFile(); // never into a deleted or replaced file: no restart would find it
      results = this.appendTransaction(calls, written);
    } catch (err) {
      if (calls.length > 1 && !(err instanceof TetherError)) {
        for (const call of calls) this.writeBatch([call]);
        return;
      }
      this.health.failed(
        err,
        calls.reduce((sum, call) => sum + bytesOf(call.inputs), 0),
      );
      const failure = storeFailure('append', err);
      for (const call of calls) call.reject(failure);
      return;
    }
    for (const [name, row] of written) this.cacheRow(name, row);
    this.stats.transactions += 1;
    this.stats.appends += calls.length;
    this.health.written();
    this.checkpointer?.written();
    calls.forEach((call, i) => call.resolve(results[i] ?? []));
  }

  /** Appends to `stream` inside the open transaction; `written` collects the rows as they will commit. */
  private appendInTransaction(
    stream: string,
    inputs: readonly PreparedInput[],
    written: Map<string, StreamRow>,
  ): AppendResult[] {
    const { insertKey, selectKeyOffset, selectMessage, insertMessage, deleteBefore } = this.statements;
    const row = written.get(stream) ?? this.streamRow(stream);
    let { head, first } = row;
    const results: AppendResult[] = [];
    for (const input of inputs) {
      const offset = head + 1;
      // Inserting the key is the duplicate check: no row inserted means the id is known.
      if (input.keyed && insertKey.run(row.id, input.id, offset, input.ts).changes === 0) {
        const firstOffset = selectKeyOffset.get(row.id, input.id);
        if (firstOffset === undefined) throw new Error(`idempotency key ${input.id} vanished`);
        const stored = selectMessage.get(row.id, firstOffset);
        // The first message may be gone (retention); the key still holds, with the input's fields.
        const message = stored === undefined ? messageOfInput(input, firstOffset) : messageOf(stored);
        results.push({ offset: firstOffset, epoch: row.epoch, duplicate: true, message });
        continue;
      }
      insertMessage.run(
        row.id,
        offset,
        input.id,
        input.type,
        input.data,
        input.ts,
        input.ttl,
        input.critical === null ? null : Number(input.critical),
        input.collapseKey,
        input.priority,
      );
      head = offset;
      results.push({ offset, epoch: row.epoch, duplicate: false, message: messageOfInput(input, offset) });
    }
    const { maxMessages } = this.byChannel.of(stream);
    if (head - first + 1 > maxMessages) {
      first = head - maxMessages + 1;
      deleteBefore.run(row.id, first);
    }
    // The stream's row is not rewritten: head and first follow from the messages (withBounds).
    written.set(stream, { id: row.id, epoch: row.epoch, head, first });
    return results;
  }

  /** Age retention for `streamIds[start…]` until about `pruneChunks.messages` messages are gone. */
  private pruneInTransaction(streamIds: readonly number[], start: number, now: number): PruneChunk {
    const { selectStreamById, firstFreshOffset, deleteBefore, updateStream } = this.statements;
    let removed = 0;
    let next = start;
    while (next < streamIds.length && removed < this.pruneChunks.messages) {
      const streamId = streamIds[next] ?? 0;
      next += 1;
      const stored = selectStreamById.get(streamId);
      if (stored === undefined) continue;
      const row = { ...this.withBounds(stored), name: stored.name };
      const cutoff = now - this.byChannel.of(row.name).maxAgeMs;
      // Everything before the first fresh message goes (all of it when none is fresh).
      const newFirst = firstFreshOffset.get(streamId, cutoff) ?? row.head + 1;
      if (newFirst <= row.first) continue;
      // Dropped even if this transaction rolls back: the next append reads the row as committed.
      this.streamRows.delete(row.name);
      removed += deleteBefore.run(streamId, newFirst).changes;
      updateStream.run(row.head, newFirst, streamId);
    }
    return { removed, next };
  }

  /** Rewrites the probe row with `padBytes` of padding, then (if any) without: the file keeps no padding. */
  private writeProbe(padBytes: number): void {
    this.statements.writeProbe.run(Date.now(), padBytes);
    if (padBytes > 0) this.statements.writeProbe.run(Date.now(), 0);
  }

  /** The stream's committed row, created with a new epoch on its first append (only appends call this). */
  private streamRow(stream: string): StreamRow {
    const existing = this.committedRow(stream);
    if (existing !== undefined) return existing;
    const created = this.statements.insertStream.get(stream, newEpoch());
    if (created === undefined) throw new Error(`creating stream ${stream} returned no row`);
    return created;
  }

  /** The stream's row as committed (head and first current), or undefined if it was never written. */
  private committedRow(stream: string): StreamRow | undefined {
    const cached = this.streamRows.get(stream);
    if (cached !== undefined) return cached;
    const stored = this.statements.selectStream.get(stream);
    if (stored === undefined) return undefined;
    const row = this.withBounds(stored);
    this.cacheRow(stream, row);
    return row;
  }

  /**
   * A stored stream row with its current head and first: appends leave the row as it was (one
   * written page less per message), so the messages say how far the stream went. Offsets have no
   * holes and retention only removes a prefix, so the lowest stored offset is the first retained
   * one; with none stored, nothing is retained. The row's head covers what age pruning emptied.
   */
  private withBounds(stored: StreamRow): StreamRow {
    const { low, high } = this.statements.streamBounds.get(stored.id, stored.id) ?? { low: null, high: null };
    const head = Math.max(stored.head, high ?? 0);
    return { id: stored.id, epoch: stored.epoch, head, first: low ?? head + 1 };
  }

  /**
   * Exact, since only this store writes the file; bounded (beyond the bound the cache starts over).
   * A row already cached for the same stream life is updated in place: a long-lived object is not
   * replaced by a new one per append (each would be promoted, and the old one left to the full GC).
   */
  private cacheRow(stream: string, row: StreamRow): void {
    const cached = this.streamRows.get(stream);
    if (cached !== undefined && cached.id === row.id && cached.epoch === row.epoch) {
      cached.head = row.head;
      cached.first = row.first;
      return;
    }
    if (this.streamRows.size >= MAX_CACHED_STREAMS && cached === undefined) this.streamRows.clear();
    this.streamRows.set(stream, row);
  }

  /** Runs `work` on an open store; any failure that is not already a TetherError is `store_unavailable`. */
  private guard<T>(operation: string, work: () => T): T {
    if (this.closed) throw storeClosedError(this.engine);
    try {
      return work();
    } catch (err) {
      throw storeFailure(operation, err);
    }
  }
}

const UNWRITTEN: StreamInfo = Object.freeze({ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 });

/** The data's JSON is the input's (the publish door's) when it has one: serialized once per publish. */
function prepareInput(input: AppendInput): PreparedInput {
  const prepared: PreparedInput = {
    id: input.id,
    keyed: input.idempotent !== false,
    type: input.type,
    data: dataJsonOf(input),
    ts: input.ts,
    ttl: null,
    critical: null,
    collapseKey: null,
    priority: null,
  };
  setOptionalColumns(prepared, input);
  return prepared;
}

/** A failure as callers see it: a TetherError stays, anything else is `store_unavailable`. */
function storeFailure(operation: string, err: unknown): TetherError {
  if (err instanceof TetherError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new TetherError(ErrorCode.StoreUnavailable, `sqlite ${operation} failed: ${reason}`, { cause: err });
}

/** About what a failed write tried to put on disk, for the readiness probe. */
function bytesOf(inputs: readonly PreparedInput[]): number {
  return inputs.reduce((sum, p) => sum + p.data.length + p.id.length + 64, 0);
}

function infoOf(row: StreamRow): StreamInfo {
  return { epoch: row.epoch, head: row.head, first: row.first };
}

/**
 * Frozen, like the memory engine's shared messages: every engine hands out read-only messages. The
 * message carries the JSON text of its data (message-json.ts), which the wire reuses; `data` itself
 * is parsed from it only if something reads it.
 */
function messageOf(row: MessageRow): StoredMessage {
  return frozenMessageOfJson({ id: row.id, type: row.type, ts: row.ts, offset: row.msg_offset }, row.data, {
    ttl: row.ttl,
    critical: row.critical === null ? null : row.critical !== 0,
    collapseKey: row.collapse_key,
    priority: storedPriorityOf(row.priority),
  });
}

function messageOfInput(input: PreparedInput, offset: number): StoredMessage {
  return frozenMessageOfJson({ id: input.id, type: input.type, ts: input.ts, offset }, input.data, input);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
