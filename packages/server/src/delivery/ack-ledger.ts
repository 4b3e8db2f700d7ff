import type { StatsCounter } from './stats.js';

export interface AckLedgerOptions {
  /** Where newly covered offsets are counted as `acked`. Default: not counted. */
  stats?: StatsCounter;
  /** Entries per map at most. Default 200_000. */
  maxEntries?: number;
  /** Estimated bytes per map at most. Default 32 MiB. */
  maxBytes?: number;
}

/**
 * Highest acked offset per (stream, user) over all of the user's devices, and per device, from
 * socket and HTTP acks alike. The device entries make HTTP acks countable without session state;
 * the user entries answer "did any device of this user ack it?" for the push fallback.
 * Bounded in entries and in bytes, per map: the least recently moved entries go first (a flood
 * of acks with long names cannot grow it past ~32 MiB each); an ack that covers nothing (offset 0,
 * as every ack of a never-written channel is once capped at its head) adds no entry.
 */
export class AckLedger {
  private readonly byUser: BoundedOffsets;
  private readonly byDevice: BoundedOffsets;

  private readonly stats: StatsCounter | undefined;

  constructor(options: AckLedgerOptions = {}) {
    const { maxEntries = 200_000, maxBytes = 32 * 2 ** 20 } = options;
    this.byUser = new BoundedOffsets(maxEntries, maxBytes);
    this.byDevice = new BoundedOffsets(maxEntries, maxBytes);
    this.stats = options.stats;
  }

  /** Records an ack; counts (`acked`, the one place) and returns how many offsets it newly covers for that device. */
  record(stream: string, sub: string, deviceId: string, offset: number): number {
    // Nothing acked (a channel never written, or an ack of 0): nothing to remember.
    if (!(offset > 0)) return 0;
    const userKey = `${stream}\u0000${sub}`;
    const deviceKey = `${userKey}\u0000${deviceId}`;
    this.byUser.raise(userKey, offset);
    const before = this.byDevice.get(deviceKey);
    if (offset <= before) return 0;
    this.byDevice.raise(deviceKey, offset);
    if (this.stats) this.stats.values.acked += offset - before;
    return offset - before;
  }

  /**
   * A device resumed from `offset`: it has handled everything up to there, so it had acked it to
   * this node or to an earlier life of it (a restart forgets the ledger). Recorded without being
   * counted, so that acks repeated after a restart or a reconnect count nothing again.
   */
  resumed(stream: string, sub: string, deviceId: string, offset: number): void {
    if (!(offset > 0)) return;
    const userKey = `${stream}\u0000${sub}`;
    this.byUser.raise(userKey, offset);
    this.byDevice.raise(`${userKey}\u0000${deviceId}`, offset);
  }

  ackedByUser(stream: string, sub: string): number {
    return this.byUser.get(`${stream}\u0000${sub}`);
  }
}

/** Per-entry cost estimate: the key (two bytes a character at worst) and the Map's own slot. */
const ENTRY_OVERHEAD_BYTES = 64;

/** Highest offset per key, least recently raised first out, within an entry and a byte budget. */
class BoundedOffsets {
  private readonly offsets = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): number {
    return this.offsets.get(key) ?? 0;
  }

  raise(key: string, offset: number): void {
    const current = this.offsets.get(key);
    if (current !== undefined && current >= offset) return;
    if (current === undefined) this.bytes += costOf(key);
    else this.offsets.delete(key); // re-insert: most recently raised last
    this.offsets.set(key, offset);
    while (this.offsets.size > this.maxEntries || (this.bytes > this.maxBytes && this.offsets.size > 1)) {
      const oldest = this.offsets.keys().next().value;
      if (oldest === undefined) break;
      this.offsets.delete(oldest);
      this.bytes -= costOf(oldest);
    }
  }
}

function costOf(key: string): number {
  return 2 * key.length + ENTRY_OVERHEAD_BYTES;
}
