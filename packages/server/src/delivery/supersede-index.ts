/**
 * What live fan-out tells the SDK about supersession (the envelope's `supersedes`): for one
 * channel, the recent offsets waiting to be made irrelevant, by key (relevance.ts `laterKeys`:
 * a collapse key, a superseding type, a superseding type and scope value). A message that fires a
 * key takes the offsets waiting on it. The SDK skips such an offset if it has not handled it yet
 * when the later message is already in hand: what a frozen socket delivers late in one burst is
 * then thinned as replay would have thinned it. O(keys) per message, nothing per subscriber; only
 * the last `horizon` offsets are kept (older ones were handled long ago, or are replayed through
 * the rules anyway).
 */

/** Offsets one message may name (the protocol's limit). */
export const MAX_SUPERSEDES = 64;

export class SupersedeIndex {
  private readonly waiting = new Map<string, number[]>();

  constructor(private readonly horizon: number) {}

  /**
   * Records the message at `offset` (offset order) with its keys; returns the earlier offsets it
   * makes irrelevant, newest first (undefined: none).
   */
  note(offset: number, keys: { waits: readonly string[]; fires: readonly string[] }): number[] | undefined {
    const oldest = offset - this.horizon;
    let found: number[] | undefined;
    for (const key of keys.fires) {
      const offsets = this.waiting.get(key);
      if (!offsets) continue;
      this.waiting.delete(key);
      for (const earlier of offsets) if (earlier > oldest) (found ??= []).push(earlier);
    }
    for (const key of keys.waits) {
      const offsets = this.waiting.get(key);
      if (!offsets) this.waiting.set(key, [offset]);
      else {
        offsets.push(offset);
        if (offsets.length > MAX_SUPERSEDES) offsets.shift();
      }
    }
    if (this.waiting.size > 4 * this.horizon) this.prune(oldest);
    if (!found) return undefined;
    const unique = [...new Set(found)].sort((a, b) => b - a);
    return unique.slice(0, MAX_SUPERSEDES);
  }

  /** Forgets keys whose offsets are all past the horizon. */
  private prune(oldest: number): void {
    for (const [key, offsets] of this.waiting) if (offsets.at(-1)! <= oldest) this.waiting.delete(key);
  }
}

/** An envelope's text with `"supersedes":[…]` added as its last field. */
export function withSupersedes(envelopeJson: string, offsets: readonly number[]): string {
  return `${envelopeJson.slice(0, -1)},"supersedes":[${offsets.join(',')}]}`;
}
