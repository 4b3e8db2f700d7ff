/**
 * Group commit for the SQLite store: the appends made in one synchronous run (one callback of the
 * event loop) are queued and written by one call of `write` (one transaction) as soon as that run
 * is done (`process.nextTick`), so that a COMMIT is paid per callback rather than per call. The Publisher flushes every channel of a turn from one `setImmediate` callback, so a turn's
 * publishes share one transaction and are written in the same turn: no loop iteration (with all
 * the I/O it reads) is waited for before the publishers are answered. A batch larger than
 * `maxWeight` is written in parts, the rest in a later turn (`setImmediate`), so that the loop is
 * held for one bounded transaction at a time.
 */

/** One queued call; `weight` is its number of inputs. */
export interface QueuedWrite {
  readonly weight: number;
}

export class GroupCommit<Job extends QueuedWrite> {
  private queue: Job[] = [];
  private scheduled = false;

  /**
   * `write` receives the calls of one batch in call order and settles each of them itself.
   * A batch holds at most `maxWeight` inputs, except that a single larger call goes alone (a call
   * is atomic, it is never split); the rest waits for the next turn.
   */
  constructor(
    private readonly write: (jobs: readonly Job[]) => void,
    private readonly maxWeight: number,
  ) {}

  enqueue(job: Job): void {
    this.queue.push(job);
    this.schedule();
  }

  /** Writes everything queued now, batch after batch (before a close). */
  flushAll(): void {
    while (this.queue.length > 0) this.write(this.takeBatch());
  }

  private schedule(later = false): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      if (this.queue.length === 0) return;
      const batch = this.takeBatch();
      // What does not fit waits for a later turn: the loop is held for one bounded batch at a time.
      if (this.queue.length > 0) this.schedule(true);
      this.write(batch);
    };
    if (later) setImmediate(run);
    else process.nextTick(run);
  }

  private takeBatch(): Job[] {
    let weight = 0;
    let count = 0;
    for (const job of this.queue) {
      if (count > 0 && weight + job.weight > this.maxWeight) break;
      weight += job.weight;
      count += 1;
    }
    return this.queue.splice(0, count);
  }
}
