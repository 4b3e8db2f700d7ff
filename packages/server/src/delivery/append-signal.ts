/** Wakes long-polls when a stream gets new messages on this node. */
export class AppendSignal {
  /** Streams with waiters: an entry exists only while someone waits on it. */
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Streams someone waits on (for tests and metrics). */
  get waitedStreams(): number {
    return this.waiters.size;
  }

  notify(stream: string): void {
    const set = this.waiters.get(stream);
    if (!set) return;
    this.waiters.delete(stream);
    for (const wake of set) wake();
  }

  /** Resolves when any of `streams` is notified, after `timeoutMs`, or when `abort` fires. */
  wait(streams: readonly string[], timeoutMs: number, abort?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        // Empty sets go too: a long-poll on many names must leave nothing behind.
        for (const stream of streams) {
          const set = this.waiters.get(stream);
          if (set?.delete(done) && set.size === 0) this.waiters.delete(stream);
        }
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      abort?.addEventListener('abort', done);
      for (const stream of streams) {
        let set = this.waiters.get(stream);
        if (!set) this.waiters.set(stream, (set = new Set()));
        set.add(done);
      }
    });
  }
}
