import { performance } from 'node:perf_hooks';

const TICK_MS = 10;

/**
 * How late this process's event loop ran, measured in real time: a timer every 10 ms notes how
 * much later than due it fired, and a reading returns the longest lateness since the previous
 * reading (the one still under way included: a sweep that runs right after a blocked turn sees it
 * even if this timer has not fired yet). A node whose loop lags has unread acks in its sockets and
 * is already overloaded; the sweeper holds redelivery back then.
 */
export class LoopLag {
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;
  private maxMs = 0;

  start(): void {
    if (this.timer) return;
    this.lastTickAt = performance.now();
    this.timer = setInterval(() => {
      const at = performance.now();
      this.maxMs = Math.max(this.maxMs, at - this.lastTickAt - TICK_MS);
      this.lastTickAt = at;
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The longest lag (ms) since the previous call, then starts a new window. 0 when not started. */
  takeMaxMs(): number {
    if (!this.timer) return 0;
    const ongoing = performance.now() - this.lastTickAt - TICK_MS;
    const lag = Math.max(0, this.maxMs, ongoing);
    this.maxMs = 0;
    return lag;
  }
}
