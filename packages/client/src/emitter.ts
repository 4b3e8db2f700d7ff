/**
 * A small typed event emitter that runs in browsers and Node alike (no `node:events`). Each event
 * carries one context object, so events can grow fields without breaking listeners.
 */

export type Listener<T> = (context: T) => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(
    /** Where a throwing listener is reported: one app listener must not break the SDK or other listeners. */
    private readonly onListenerError: (err: unknown, event: PropertyKey) => void = () => {},
  ) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (context) => {
      off();
      listener(context);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<K extends keyof Events>(event: K, context: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // A copy: a listener may remove itself (or others) while we iterate.
    for (const listener of [...set] as Listener<Events[K]>[]) {
      try {
        listener(context);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }

  removeAll(): void {
    this.listeners.clear();
  }
}
