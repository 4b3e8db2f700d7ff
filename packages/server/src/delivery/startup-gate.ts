import { ErrorCode, TetherError } from '@tether/protocol';

/**
 * Holds publishes and handshakes that reach the node before it has started (an app's server may
 * already listen while the node joins its cluster): they wait, and go on once it has. A failed
 * start refuses them with `store_unavailable` (503). Once open, `pass()` costs nothing.
 */
export class StartupGate {
  private open = false;
  private readonly waiting: Promise<void>;

  constructor(started: Promise<unknown>) {
    this.waiting = started.then(
      () => {
        this.open = true;
      },
      (err: unknown) => {
        throw new TetherError(ErrorCode.StoreUnavailable, 'the node could not start (its cluster join failed)', {
          cause: err,
        });
      },
    );
    this.waiting.catch(() => undefined); // nobody may be waiting: not an unhandled rejection
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Undefined once started; else a promise that settles when the start does. */
  pass(): Promise<void> | undefined {
    return this.open ? undefined : this.waiting;
  }
}
