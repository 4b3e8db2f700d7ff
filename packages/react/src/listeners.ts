/** The change listeners of one store (`useSyncExternalStore`'s `subscribe`), each told once per change. */
export class Listeners {
  private readonly set = new Set<() => void>();

  get size(): number {
    return this.set.size;
  }

  /** Adds `listener`; returns its removal. */
  add(listener: () => void): () => void {
    this.set.add(listener);
    return () => void this.set.delete(listener);
  }

  notify(): void {
    for (const listener of [...this.set]) listener();
  }
}
