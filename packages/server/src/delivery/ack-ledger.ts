/**
 * Highest acked offset per (stream, user) over all of the user's devices, and per device, from
 * socket and HTTP acks alike. The device entries make HTTP acks countable without session state;
 * the user entries answer "did any device of this user ack it?" for the push fallback.
 * Bounded: the oldest entries go first; an ack that covers nothing (offset 0, as every ack of a
 * never-written channel is once capped at its head) adds no entry.
 */
export class AckLedger {
  private readonly byUser = new Map<string, number>();
  private readonly byDevice = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  /** Records an ack; returns how many offsets it newly covers for that device. */
  record(stream: string, sub: string, deviceId: string, offset: number): number {
    // Nothing acked (a channel never written, or an ack of 0): nothing to remember.
    if (!(offset > 0)) return 0;
    const userKey = `${stream}\u0000${sub}`;
    const deviceKey = `${userKey}\u0000${deviceId}`;
    bump(this.byUser, userKey, offset, this.maxEntries);
    const before = this.byDevice.get(deviceKey) ?? 0;
    if (offset <= before) return 0;
    bump(this.byDevice, deviceKey, offset, this.maxEntries);
    return offset - before;
  }

  ackedByUser(stream: string, sub: string): number {
    return this.byUser.get(`${stream}\u0000${sub}`) ?? 0;
  }
}

function bump(map: Map<string, number>, key: string, offset: number, max: number): void {
  const current = map.get(key);
  if (current !== undefined && current >= offset) return;
  map.delete(key); // re-insert: most recently used last
  map.set(key, offset);
  if (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
