/**
 * The in-process ReadStateStore: read positions and lastSeen in maps. The memory log store's own
 * (nothing survives a restart there anyway), and the fallback for a custom LogStore without
 * `readState` (then positions live on this node only and go with the process: docs/presence.md).
 */
import type { ReadStateStore } from '../presence/types.js';

/** Map key of a user: tenant and sub cannot contain NUL, so the pair is unambiguous. */
function userKey(tenant: string, sub: string): string {
  return `${tenant}\u0000${sub}`;
}

export class MemoryReadStateStore implements ReadStateStore {
  /** Read positions by user, then channel. */
  private readonly positions = new Map<string, Map<string, number>>();
  private readonly seen = new Map<string, number>();

  async markRead(tenant: string, sub: string, channel: string, offset: number): Promise<number> {
    const key = userKey(tenant, sub);
    let channels = this.positions.get(key);
    if (!channels) this.positions.set(key, (channels = new Map()));
    const before = channels.get(channel) ?? 0;
    if (offset <= before) return before;
    channels.set(channel, offset);
    return offset;
  }

  async readPositions(tenant: string, sub: string, channels?: readonly string[]): Promise<Map<string, number>> {
    const known = this.positions.get(userKey(tenant, sub));
    if (channels === undefined) return new Map(known ?? []);
    return new Map(channels.map((channel) => [channel, known?.get(channel) ?? 0]));
  }

  async touchLastSeen(tenant: string, sub: string, at: number): Promise<void> {
    const key = userKey(tenant, sub);
    if (at > (this.seen.get(key) ?? -Infinity)) this.seen.set(key, at);
  }

  async lastSeen(tenant: string, sub: string): Promise<number | null> {
    return this.seen.get(userKey(tenant, sub)) ?? null;
  }
}
