/**
 * Exponential backoff. "Full jitter" (a uniform draw between 0 and the exponential cap) spreads a
 * crowd of clients that lost the same server over the whole window, so they do not come back in
 * synchronized waves (AWS Architecture Blog, "Exponential Backoff and Jitter").
 */

export interface BackoffOptions {
  /** Cap of the first delay, ms. */
  initialDelayMs: number;
  /** Largest delay, ms. */
  maxDelayMs: number;
  /** Growth of the cap per attempt. */
  factor: number;
  /** `full`: uniform in [0, cap]; `none`: exactly the cap. */
  jitter: 'full' | 'none';
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    /** Uniform in [0, 1). Injectable so that tests are exact. */
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts made since the last `reset()`. */
  get attempts(): number {
    return this.attempt;
  }

  /** The cap for the current attempt, without jitter. */
  cap(): number {
    const { initialDelayMs, maxDelayMs, factor } = this.options;
    // Computed in a way that cannot overflow to Infinity for large attempt counts.
    const exponent = Math.min(this.attempt, 64);
    return Math.min(maxDelayMs, initialDelayMs * Math.pow(factor, exponent));
  }

  /**
   * The delay before the next attempt, ms; counts the attempt. `limitMs` lowers the cap for this
   * draw only (the growth goes on counting: a later draw without it gets the full cap).
   */
  next(limitMs = Infinity): number {
    const cap = Math.min(this.cap(), limitMs);
    this.attempt++;
    return this.options.jitter === 'full' ? Math.floor(this.random() * cap) : cap;
  }

  reset(): void {
    this.attempt = 0;
  }
}
