/**
 * Group commit for the SQLite store: every append made in one event-loop turn is queued and written
 * by one call of `write` (one transaction) at the end of the turn, so that a COMMIT is paid per turn
 * rather than per call. The Publisher flushes every channel of a turn from one `setImmediate`
 * callback; a `setImmediate` here (not a microtask) also gathers appends made from several
 * callbacks of one check phase (other callers, the Publisher's retries of a busy channel), at the
 * cost of one loop iteration of latency.
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

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.queue.length === 0) return;
      const batch = this.takeBatch();
      // Later calls of this turn wait for the next one: the loop is held for one bounded batch.
      if (this.queue.length > 0) this.schedule();
      this.write(batch);
    });
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
