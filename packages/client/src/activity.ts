/**
 * The device's activity, and the status it implies: `online` while the user was active within
 * `idleAfterMs`, `idle` until `awayAfterMs`, `away` after. Activity is the app's calls (publish,
 * subscribe, `client.presence.markActive()`) and, in a browser, `pointerdown`, `keydown` and the
 * page becoming visible. A keystroke only records the time: the timer re-checks lazily, so typing
 * costs no timer churn.
 */
export type ActivityStatus = 'online' | 'idle' | 'away';

export interface ActivityOptions {
  idleAfterMs: number;
  awayAfterMs: number;
  /** Listen to the page's events (browsers) and derive idle / away at all. */
  trackActivity: boolean;
}

interface EventTarget_ {
  addEventListener(type: string, listener: () => void, options?: { passive?: boolean }): void;
  removeEventListener(type: string, listener: () => void): void;
}

export class ActivityMonitor {
  private lastActiveAt = Date.now();
  private derived: ActivityStatus = 'online';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private detach: (() => void) | undefined;

  constructor(
    private readonly options: ActivityOptions,
    /** The derived status changed. */
    private readonly changed: (status: ActivityStatus) => void,
    /** There was activity (for the throttled "active" report). */
    private readonly active: () => void,
  ) {}

  get status(): ActivityStatus {
    return this.derived;
  }

  start(): void {
    if (!this.options.trackActivity || this.detach) return;
    this.detach = listenToPage(() => this.markActive());
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detach?.();
    this.detach = undefined;
  }

  markActive(): void {
    this.lastActiveAt = Date.now();
    if (this.derived !== 'online' && this.options.trackActivity) this.set('online');
    this.active();
  }

  private check(): void {
    this.timer = undefined;
    const quiet = Date.now() - this.lastActiveAt;
    const { idleAfterMs, awayAfterMs } = this.options;
    this.set(quiet >= awayAfterMs ? 'away' : quiet >= idleAfterMs ? 'idle' : 'online');
  }

  private set(status: ActivityStatus): void {
    const before = this.derived;
    this.derived = status;
    if (this.detach) this.schedule();
    if (status !== before) this.changed(status);
  }

  /** The next moment the derived status may change (none once away). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.derived === 'away') return;
    const at = this.lastActiveAt + (this.derived === 'online' ? this.options.idleAfterMs : this.options.awayAfterMs);
    this.timer = setTimeout(() => this.check(), Math.max(0, at - Date.now()));
    // In Node, a pending idle check must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}

/** Page events that mean "the user is here"; nothing outside a browser page. */
function listenToPage(active: () => void): () => void {
  const target = globalThis as Partial<EventTarget_> & { document?: EventTarget_ & { visibilityState?: string } };
  const page = target.document;
  if (typeof target.addEventListener !== 'function' || !page || typeof page.addEventListener !== 'function') {
    return () => {};
  }
  const onVisibility = (): void => {
    if (page.visibilityState === 'visible') active();
  };
  target.addEventListener('pointerdown', active, { passive: true });
  target.addEventListener('keydown', active, { passive: true });
  page.addEventListener('visibilitychange', onVisibility);
  return () => {
    target.removeEventListener?.('pointerdown', active);
    target.removeEventListener?.('keydown', active);
    page.removeEventListener('visibilitychange', onVisibility);
  };
}
