/**
 * How late the event loop runs, from a timer's drift: a timer due every `intervalMs` that fires
 * `d` ms late saw the loop held `d` ms. The answer is the worst drift of the last `windowMs`, or
 * the time since the last tick when that is longer (the loop is held right now, or was until this
 * very turn: a request handled just after a long stall sees the stall before the timer does).
 * Nothing is reported before the first tick: the synchronous work of starting up is no overload.
 */

/** The event loop's current lag, ms. */
export type LoopLag = () => number;

export interface LoopLagSamplerOptions {
  intervalMs?: number;
  windowMs?: number;
  now?: () => number;
}

export class LoopLagSampler {
  private readonly intervalMs: number;
  private readonly drifts: number[];
  private next = 0;
  /** Undefined until the first tick. */
  private lastTickAt: number | undefined;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly now: () => number;

  constructor(options: LoopLagSamplerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 50;
    this.now = options.now ?? (() => performance.now());
    this.drifts = new Array<number>(Math.max(1, Math.ceil((options.windowMs ?? 1000) / this.intervalMs))).fill(0);
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private stopped = false;

  readonly lag: LoopLag = () => {
    if (this.stopped || this.lastTickAt === undefined) return 0; // no timer yet, or any more: no signal
    let worst = Math.max(0, this.now() - this.lastTickAt - this.intervalMs);
    for (const d of this.drifts) if (d > worst) worst = d;
    return worst;
  };

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    const at = this.now();
    if (this.lastTickAt === undefined) {
      this.lastTickAt = at;
      return;
    }
    this.drifts[this.next] = Math.max(0, at - this.lastTickAt - this.intervalMs);
    this.next = (this.next + 1) % this.drifts.length;
    this.lastTickAt = at;
  }
}
