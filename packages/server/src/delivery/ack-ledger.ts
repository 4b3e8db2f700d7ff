import { OffsetSlots } from './offset-slots.js';
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
 * What remembers where its acks go in the ledger (a subscription): the device entry's slot and
 * that slot's generation, filled by the first ack that covers something. Starts at -1 / 0.
 */
export interface LedgerSlotHolder {
  ledgerSlot: number;
  ledgerGen: number;
}

/**
 * Highest acked offset per (stream, user) over all of the user's devices, and per device, from
 * socket and HTTP acks alike. The device entries make HTTP acks countable without session state;
 * the user entries answer "did any device of this user ack it?" for the push fallback.
 * Bounded in entries and in bytes, per map: the least recently moved entries go first (a flood
 * of acks with long names cannot grow it past ~32 MiB each); an ack that covers nothing (offset 0,
 * as every ack of a never-written channel is once capped at its head) adds no entry.
 * Entries live in numbered slots (`OffsetSlots`): a socket ack names its entry by the slot its
 * subscription holds, so recording it builds no key and allocates nothing.
 */
export class AckLedger {
  private readonly byUser: OffsetSlots;
  private readonly byDevice: OffsetSlots;

  private readonly stats: StatsCounter | undefined;

  constructor(options: AckLedgerOptions = {}) {
    const { maxEntries = 200_000, maxBytes = 32 * 2 ** 20 } = options;
    this.byUser = new OffsetSlots(maxEntries, maxBytes);
    this.byDevice = new OffsetSlots(maxEntries, maxBytes);
    this.stats = options.stats;
  }

  /** Records an ack; counts (`acked`, the one place) and returns how many offsets it newly covers for that device. */
  record(stream: string, sub: string, deviceId: string, offset: number): number {
    // Nothing acked (a channel never written, or an ack of 0): nothing to remember.
    if (!(offset > 0)) return 0;
    const device = this.byDevice.slotOf(deviceKey(stream, sub, deviceId));
    return this.raise(device, stream, sub, offset);
  }

  /**
   * `record`, for a holder that keeps its device slot: after its first ack, recording one is a
   * few typed-array reads and writes. A slot evicted meanwhile is found again by its key.
   */
  recordFor(holder: LedgerSlotHolder, stream: string, sub: string, deviceId: string, offset: number): number {
    if (!(offset > 0)) return 0;
    let device = holder.ledgerSlot;
    if (!this.byDevice.holds(device, holder.ledgerGen)) {
      device = this.byDevice.slotOf(deviceKey(stream, sub, deviceId));
      holder.ledgerSlot = device;
      holder.ledgerGen = this.byDevice.gen(device);
    }
    return this.raise(device, stream, sub, offset);
  }

  /**
   * A device resumed from `offset`: it has handled everything up to there, so it had acked it to
   * this node or to an earlier life of it (a restart forgets the ledger). Recorded without being
   * counted, so that acks repeated after a restart or a reconnect count nothing again.
   */
  resumed(stream: string, sub: string, deviceId: string, offset: number): void {
    if (!(offset > 0)) return;
    const device = this.byDevice.slotOf(deviceKey(stream, sub, deviceId));
    this.byUser.raise(this.userSlotOf(device, stream, sub), offset);
    this.byDevice.raise(device, offset);
  }

  ackedByUser(stream: string, sub: string): number {
    return this.byUser.get(userKey(stream, sub));
  }

  /** The highest offset this device acked (or resumed from) on this node; 0 when none is known. */
  ackedByDevice(stream: string, sub: string, deviceId: string): number {
    return this.byDevice.get(deviceKey(stream, sub, deviceId));
  }

  private raise(device: number, stream: string, sub: string, offset: number): number {
    this.byUser.raise(this.userSlotOf(device, stream, sub), offset);
    const before = this.byDevice.offsetAt(device);
    if (offset <= before) return 0;
    this.byDevice.raise(device, offset);
    if (this.stats) this.stats.values.acked += offset - before;
    return offset - before;
  }

  /** The user entry a device entry belongs to, looked up by key only when its link went stale. */
  private userSlotOf(device: number, stream: string, sub: string): number {
    const linked = this.byDevice.link[device] ?? -1;
    if (this.byUser.holds(linked, this.byDevice.linkGen[device] ?? 0)) return linked;
    const user = this.byUser.slotOf(userKey(stream, sub));
    this.byDevice.link[device] = user;
    this.byDevice.linkGen[device] = this.byUser.gen(user);
    return user;
  }
}

function userKey(stream: string, sub: string): string {
  return `${stream}\u0000${sub}`;
}

function deviceKey(stream: string, sub: string, deviceId: string): string {
  return `${stream}\u0000${sub}\u0000${deviceId}`;
}
