/**
 * The write-ahead log checkpointed off the event loop. A checkpoint fsyncs the log, copies every
 * page it changed into the data file and fsyncs that: 20–50 ms at a few thousand messages a second,
 * which SQLite's automatic checkpoint spends inside a commit, on the event loop, holding every
 * publish and delivery of that moment (session 12: most of the SQLite server's loop stalls).
 *
 * Here a worker thread with a connection of its own runs `wal_checkpoint(PASSIVE)` at most every
 * `intervalMs` while commits come in. PASSIVE never waits for and never blocks the writer; once it
 * has copied the whole log, the writer's next transaction starts the log over from its beginning,
 * so the `-wal` file stays about one interval of writes. The writer's own automatic checkpoint
 * stays as the backstop (`sqliteCheckpointPages`), for a log the worker could not keep up with.
 * Each checkpoint also fsyncs the log: a power loss loses at most about one interval of commits.
 *
 * The worker's code is a script evaluated by `worker_threads` (better-sqlite3 loaded by its resolved
 * path), so it runs the same from the sources and from `dist/`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, logFrames: result.log, copiedFrames: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

/** What the background checkpoints did so far. */
export interface CheckpointStats {
  /** Checkpoints run. */
  checkpoints: number;
  /** Frames in the log at the last one, and how many of them it copied into the data file. */
  lastLogFrames: number;
  lastCopiedFrames: number;
  /** Checkpoints that failed (the writer's own checkpoint is the backstop), and the last one's error. */
  failures: number;
  lastFailure?: string;
}

export interface SqliteCheckpointerOptions {
  /** The data file (it exists: the writer opened it). */
  path: string;
  /** A checkpoint at most this often while commits come in, ms. */
  intervalMs: number;
}

type WorkerAnswer = { ok: true; logFrames: number; copiedFrames: number } | { ok: false; error: string };

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly stats_: CheckpointStats = { checkpoints: 0, lastLogFrames: 0, lastCopiedFrames: 0, failures: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Commits since the last checkpoint began. */
  private dirty = false;
  private running = false;
  private closed = false;
  private readonly exited: Promise<void>;

  constructor(private readonly o: SqliteCheckpointerOptions) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, path: o.path } });
    // Never what keeps the process alive; close() ends it.
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (answer: WorkerAnswer) => this.answered(answer));
    // The worker died (it could not open the file): no more checkpoints but the writer's own.
    this.worker.on('error', (err) => {
      this.closed = true;
      this.failed(err.message);
    });
  }

  /** A commit happened: a checkpoint follows within `intervalMs` (one timer, whatever the commit rate). */
  written(): void {
    this.dirty = true;
    if (this.timer === undefined && !this.running && !this.closed) this.schedule();
  }

  get stats(): CheckpointStats {
    return { ...this.stats_ };
  }

  /** Stops the worker (after the checkpoint it may be running) and closes its connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.worker.postMessage('close');
    await this.exited;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.dirty = false;
      this.running = true;
      this.worker.postMessage('checkpoint');
    }, this.o.intervalMs);
    this.timer.unref();
  }

  private answered(answer: WorkerAnswer): void {
    this.running = false;
    if (answer.ok) {
      this.stats_.checkpoints++;
      this.stats_.lastLogFrames = answer.logFrames;
      this.stats_.lastCopiedFrames = answer.copiedFrames;
    } else {
      this.failed(answer.error);
    }
    if (this.dirty && !this.closed) this.schedule();
  }

  private failed(message: string): void {
    this.stats_.failures++;
    this.stats_.lastFailure = message;
  }
}
