import { performance } from 'node:perf_hooks';

/**
 * How late this process's event loop runs, from a timer's drift: a timer due every `intervalMs`
 * that fires `d` ms late saw the loop held `d` ms. Two readings, one sampler:
 * - `lag()`: the worst drift of the last `windowMs`, or the time since the last tick when that is
 *   longer (the loop is held right now, or was until this very turn: a handshake handled just after
 *   a long stall sees the stall before the timer does). The connection gate refuses new
 *   connections while it is high (`busyLoopLagMs`).
 * - `takeMaxMs()`: the longest lag since the previous call, the one under way included. The
 *   sweeper holds redelivery back after it (`redeliveryMaxLoopLagMs`): a node whose loop lagged has
 *   unread acks in its sockets and is already overloaded.
 * `lag()` reports nothing before the first tick, and neither reading after `stop`: the synchronous
 * work of starting up is no overload.
 */

/** The event loop's current lag, ms. */
export type LoopLag = () => number;

export interface LoopLagSamplerOptions {
  /** Timer period, ms. Default 50. */
  intervalMs?: number;
  /** What `lag()` looks back over, ms. Default 1000. */
  windowMs?: number;
  now?: () => number;
}

export class LoopLagSampler {
  private readonly intervalMs: number;
  private readonly drifts: number[];
  private next = 0;
  private lastTickAt: number;
  /** False until the first tick: `lag()` says nothing before it (start-up work is no overload). */
  private ticked = false;
  /** The longest drift since the last `takeMaxMs`. */
  private maxSinceTaken = 0;
  private stopped = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly now: () => number;

  constructor(options: LoopLagSamplerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 50;
    this.now = options.now ?? (() => performance.now());
    this.drifts = new Array<number>(Math.max(1, Math.ceil((options.windowMs ?? 1000) / this.intervalMs))).fill(0);
    this.lastTickAt = this.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  readonly lag: LoopLag = () => {
    if (!this.ticked || this.stopped) return 0;
    let worst = this.ongoing();
    for (const d of this.drifts) if (d > worst) worst = d;
    return worst;
  };

  /** The longest lag (ms) since the previous call, then a new window begins. */
  takeMaxMs(): number {
    const lag = Math.max(this.maxSinceTaken, this.ongoing());
    this.maxSinceTaken = 0;
    return lag;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** How late the next tick already is (the loop may be held right now). */
  private ongoing(): number {
    if (this.stopped) return 0;
    return Math.max(0, this.now() - this.lastTickAt - this.intervalMs);
  }

  private tick(): void {
    const at = this.now();
    const drift = Math.max(0, at - this.lastTickAt - this.intervalMs);
    this.lastTickAt = at;
    if (drift > this.maxSinceTaken) this.maxSinceTaken = drift;
    // The first period may include start-up work: `lag()` counts from the first tick on.
    if (!this.ticked) {
      this.ticked = true;
      return;
    }
    this.drifts[this.next] = drift;
    this.next = (this.next + 1) % this.drifts.length;
  }
}
