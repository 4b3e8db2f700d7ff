/**
 * Highest offset per key in numbered slots: the key is looked up once, then its slot number (and
 * the slot's generation, which changes when the slot is evicted and reused) is enough to read or
 * raise it — no string built, nothing allocated. Bounded in entries and in estimated bytes: the
 * least recently raised slot goes first. Order is an intrusive list over typed arrays, so a raise
 * moves a slot to the back without touching a Map.
 */

/** Per-entry cost estimate beyond the key: the Map slot, the key's header and the typed arrays. */
const ENTRY_OVERHEAD_BYTES = 64;
const NONE = -1;
const INITIAL_CAPACITY = 64;

export class OffsetSlots {
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  private offsets = new Float64Array(INITIAL_CAPACITY);
  private prev = new Int32Array(INITIAL_CAPACITY);
  private next = new Int32Array(INITIAL_CAPACITY);
  private gens = new Uint32Array(INITIAL_CAPACITY);
  /** A slot of another table this entry belongs to (a device's user entry), with that slot's generation. */
  link = new Int32Array(INITIAL_CAPACITY);
  linkGen = new Uint32Array(INITIAL_CAPACITY);
  private used = 0;
  private free: number[] = [];
  private head = NONE;
  private tail = NONE;
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** The slot of `key`, or -1. */
  find(key: string): number {
    return this.index.get(key) ?? NONE;
  }

  /** The slot of `key`, made (at offset 0, at the back) when it has none. */
  slotOf(key: string): number {
    const found = this.index.get(key);
    if (found !== undefined) return found;
    const slot = this.free.pop() ?? this.grow();
    this.keys[slot] = key;
    this.offsets[slot] = 0;
    this.link[slot] = NONE;
    this.index.set(key, slot);
    this.bytes += costOf(key);
    this.append(slot);
    this.evict(slot);
    return slot;
  }

  /** The slot's generation: a holder of a slot number checks it before use. */
  gen(slot: number): number {
    return this.gens[slot] ?? 0;
  }

  /** Whether `slot` still holds the entry it held at `gen`. */
  holds(slot: number, gen: number): boolean {
    return slot >= 0 && slot < this.used && this.gens[slot] === gen && this.keys[slot] !== undefined;
  }

  offsetAt(slot: number): number {
    return this.offsets[slot] ?? 0;
  }

  get(key: string): number {
    const slot = this.index.get(key);
    return slot === undefined ? 0 : (this.offsets[slot] ?? 0);
  }

  /** Raises the slot to `offset` (never lowers it) and moves it to the back when it moved. */
  raise(slot: number, offset: number): void {
    if ((this.offsets[slot] ?? 0) >= offset) return;
    this.offsets[slot] = offset;
    if (slot === this.tail) return;
    this.unlink(slot);
    this.append(slot);
  }

  private evict(keep: number): void {
    while (this.index.size > this.maxEntries || (this.bytes > this.maxBytes && this.index.size > 1)) {
      const oldest = this.head === keep ? (this.next[keep] ?? NONE) : this.head;
      if (oldest === NONE) return;
      this.drop(oldest);
    }
  }

  private drop(slot: number): void {
    const key = this.keys[slot];
    if (key === undefined) return;
    this.unlink(slot);
    this.index.delete(key);
    this.bytes -= costOf(key);
    this.keys[slot] = undefined;
    this.gens[slot] = ((this.gens[slot] ?? 0) + 1) >>> 0;
    this.free.push(slot);
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const before = this.prev[slot] ?? NONE;
    const after = this.next[slot] ?? NONE;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
  }

  /** A fresh slot number, the arrays doubled when full. */
  private grow(): number {
    if (this.used === this.offsets.length) {
      const size = this.offsets.length * 2;
      this.offsets = widen(this.offsets, new Float64Array(size));
      this.prev = widen(this.prev, new Int32Array(size));
      this.next = widen(this.next, new Int32Array(size));
      this.gens = widen(this.gens, new Uint32Array(size));
      this.link = widen(this.link, new Int32Array(size));
      this.linkGen = widen(this.linkGen, new Uint32Array(size));
    }
    return this.used++;
  }
}

function widen<A extends Float64Array | Int32Array | Uint32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

function costOf(key: string): number {
  return 2 * key.length + ENTRY_OVERHEAD_BYTES;
}
