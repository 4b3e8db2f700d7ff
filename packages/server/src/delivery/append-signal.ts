/** Wakes long-polls when a stream gets new messages on this node. */
export class AppendSignal {
  private readonly waiters = new Map<string, Set<() => void>>();

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
        for (const stream of streams) this.waiters.get(stream)?.delete(done);
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
