import type { Subscription } from './subscription.js';

/**
 * A connection's subscriptions by channel. Most connections hold one, their inbox: that one is kept
 * in a field, and a `Map` is made only for a second (a `Map` with its hash table is ~180 B, held by
 * every idle connection otherwise). Iterates in subscription order, as a `Map` does.
 */
export class SubscriptionTable {
  private only: Subscription | undefined;
  private many: Map<string, Subscription> | undefined;

  get size(): number {
    return this.many ? this.many.size : this.only ? 1 : 0;
  }

  get(channel: string): Subscription | undefined {
    if (this.many) return this.many.get(channel);
    return this.only?.state.channel === channel ? this.only : undefined;
  }

  has(channel: string): boolean {
    return this.get(channel) !== undefined;
  }

  /** Adds (or replaces) the subscription of its channel. */
  set(sub: Subscription): void {
    const channel = sub.state.channel;
    if (this.many) {
      this.many.set(channel, sub);
      return;
    }
    const only = this.only;
    if (!only || only.state.channel === channel) {
      this.only = sub;
      return;
    }
    this.many = new Map([
      [only.state.channel, only],
      [channel, sub],
    ]);
    this.only = undefined;
  }

  delete(channel: string): boolean {
    if (this.many) {
      const deleted = this.many.delete(channel);
      if (this.many.size === 0) this.many = undefined;
      return deleted;
    }
    if (this.only?.state.channel !== channel) return false;
    this.only = undefined;
    return true;
  }

  clear(): void {
    this.only = undefined;
    this.many = undefined;
  }

  values(): IterableIterator<Subscription> {
    if (this.many) return this.many.values();
    return (this.only ? [this.only] : []).values();
  }

  channels(): string[] {
    return [...this.values()].map((sub) => sub.state.channel);
  }
}
