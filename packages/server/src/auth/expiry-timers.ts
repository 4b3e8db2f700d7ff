/**
 * When each connection's token ends, on ONE timer for the whole node: a min-heap of end times,
 * the timer armed for the earliest. A timer per connection costs ~250 bytes (the Timeout, its
 * closure and that closure's context) on every idle connection; here one costs two array slots.
 */

/** Longest timer Node accepts; a later end re-arms when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Something that ends at a time: its place in the heap is kept on it (-1: not in it). */
export interface Expiring {
  expiryIndex: number;
  /** Called once when its time has come (wall clock, `Date.now()`). */
  expire(): void;
}

export class ExpiryTimers {
  /** Heap of end times (ms since the epoch) and, at the same index, what ends then. */
  private readonly ends: number[] = [];
  private readonly items: Expiring[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The end time the timer is armed for. */
  private armedFor = Infinity;

  get size(): number {
    return this.items.length;
  }

  /** Ends `item` at `at` (ms since the epoch), in place of any end it had. */
  set(item: Expiring, at: number): void {
    this.remove(item);
    const index = this.items.length;
    this.ends.push(at);
    this.items.push(item);
    item.expiryIndex = index;
    this.up(index);
    this.arm();
  }

  /** `item` no longer ends (gone, or its token has no `exp`). */
  remove(item: Expiring): void {
    const index = item.expiryIndex;
    if (index < 0 || this.items[index] !== item) return;
    item.expiryIndex = -1;
    const lastEnd = this.ends.pop()!;
    const last = this.items.pop()!;
    if (index < this.items.length) {
      this.place(index, lastEnd, last);
      this.down(index);
      this.up(last.expiryIndex);
    }
    if (this.items.length === 0) this.disarm();
  }

  close(): void {
    this.disarm();
  }

  private arm(): void {
    const first = this.ends[0];
    if (first === undefined) return this.disarm();
    if (this.timer && first >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = first;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(first - Date.now(), MAX_TIMER_MS)));
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    while (this.items.length > 0 && this.ends[0]! <= now) {
      const item = this.items[0]!;
      this.remove(item);
      item.expire();
    }
    this.arm();
  }

  private place(index: number, end: number, item: Expiring): void {
    this.ends[index] = end;
    this.items[index] = item;
    item.expiryIndex = index;
  }

  private up(index: number): void {
    const end = this.ends[index]!;
    const item = this.items[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.ends[parent]! <= end) break;
      this.place(index, this.ends[parent]!, this.items[parent]!);
      index = parent;
    }
    this.place(index, end, item);
  }

  private down(index: number): void {
    const end = this.ends[index]!;
    const item = this.items[index]!;
    const n = this.items.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      if (child + 1 < n && this.ends[child + 1]! < this.ends[child]!) child++;
      if (this.ends[child]! >= end) break;
      this.place(index, this.ends[child]!, this.items[child]!);
      index = child;
    }
    this.place(index, end, item);
  }
}
