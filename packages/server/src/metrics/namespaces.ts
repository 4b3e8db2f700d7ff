/** A channel without `:` has no namespace: its own name could be anything (a user id). */
export const NO_NAMESPACE = 'none';
/** Namespaces past the cap share this label. */
export const OTHER_NAMESPACE = 'other';

/**
 * Counts by channel namespace (the part of the channel before the first `:`), the only label
 * derived from a channel: bounded to `max` distinct namespaces, the rest counted as `other`, so
 * that no channel or user id can become a label or grow the series without bound.
 */
export class NamespaceCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  add(channel: string, count: number): void {
    const colon = channel.indexOf(':');
    let label = colon > 0 ? channel.slice(0, colon) : NO_NAMESPACE;
    const before = this.counts.get(label);
    if (before === undefined && this.counts.size >= this.max) {
      label = OTHER_NAMESPACE;
      this.counts.set(label, (this.counts.get(label) ?? 0) + count);
      return;
    }
    this.counts.set(label, (before ?? 0) + count);
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }
}
