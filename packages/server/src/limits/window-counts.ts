/**
 * A fixed-window limit kept in this process's memory, for the limits that count per connection or
 * per user on one node (no Redis). It counts as rate-limiter-flexible's memory limiter does (a key's
 * window starts at its first point and lasts `durationMs`; every point counts, refused or not; over
 * `points`, refused until the window ends) but holds less per key: one small entry in one map, and
 * one sweep timer for all keys instead of a timer and a record per key (~500 B per active
 * connection with the event limits on: bench/README.md, "Issue 9, idle memory, session 8").
 */
import type { RateLimit, Refusal } from './rate-limit.js';

interface Window {
  count: number;
  /** When the window ends, ms after `base` (a small integer, not a boxed number, for ~24 days). */
  ends: number;
}

export interface WindowCountsOptions {
  points: number;
  durationMs: number;
  now?: () => number;
}

export class WindowCounts implements RateLimit {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly base: number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WindowCountsOptions) {
    this.now = options.now ?? Date.now;
    this.base = this.now();
  }

  /** Keys with a window open (ended ones may linger until the next sweep). */
  get size(): number {
    return this.windows.size;
  }

  consume(key: string, points = 1): Promise<Refusal | undefined> {
    return Promise.resolve(this.take(key, points));
  }

  /** `consume`, answered at once. */
  take(key: string, points = 1): Refusal | undefined {
    const at = this.now() - this.base;
    let window = this.windows.get(key);
    if (!window || at >= window.ends) {
      window = { count: 0, ends: at + this.options.durationMs };
      this.windows.set(key, window);
      this.sweepTimer ??= setInterval(() => this.sweep(), this.options.durationMs).unref();
    }
    window.count += points;
    return window.count > this.options.points ? { retryAfterMs: Math.max(1, window.ends - at) } : undefined;
  }

  /** Forgets the windows that ended; stops the timer once none is left. */
  sweep(): void {
    const at = this.now() - this.base;
    for (const [key, window] of this.windows) if (at >= window.ends) this.windows.delete(key);
    if (this.windows.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }
}
