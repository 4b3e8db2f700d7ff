import type { Position } from '@tether/protocol';
import type { LogStore, StoredMessage } from '../store/types.js';
import type { RelevanceContext, RelevanceFilter } from './relevance.js';
import type { StatsCounter } from './stats.js';

export type ReplayOutcome =
  | { kind: 'resync'; epoch: string; offset: number }
  | {
      kind: 'messages';
      epoch: string;
      /** Relevant messages after the position, oldest first. */
      messages: StoredMessage[];
      /** The position the reader may advance to once it handled `messages`. */
      upTo: number;
    };

export interface ReplayRequest {
  stream: string;
  position: Position;
  ctx: RelevanceContext;
  /** Read no further than this offset (a node's fanned-out head); default: the store's head. */
  target?: number;
  /** Return at most this many messages (`upTo` then stops at the last one returned). */
  limit?: number;
  path: 'replay' | 'http';
}

/**
 * Reads what a position missed, through the relevance rules. The one place that decides between
 * "here is what you missed" and `resync` (position out of retention, or of another epoch), shared
 * by socket resume and the HTTP fallback so both answer the same for the same position. Callers
 * count a resync when they send one.
 */
export class Replayer {
  constructor(
    private readonly store: LogStore,
    private readonly relevance: RelevanceFilter,
    private readonly stats: StatsCounter,
    private readonly pageSize: number,
  ) {}

  async read(req: ReplayRequest): Promise<ReplayOutcome> {
    const after = req.position.offset;
    let page = await this.store.read(req.stream, after, this.pageSize);
    const { epoch, head, first } = page;
    // Offset 0 has handled nothing, so any life of the log serves it (that is how a reader of a
    // channel that was unwritten, UNWRITTEN_EPOCH, moves to the first real epoch): no resync.
    const otherEpoch = after > 0 && req.position.epoch !== undefined && req.position.epoch !== epoch;
    const missedRetention = after < head && after + 1 < first;
    if (otherEpoch || after > head || missedRetention) {
      return { kind: 'resync', epoch, offset: head };
    }
    const target = Math.min(req.target ?? head, head);
    const read: StoredMessage[] = [];
    // Supersession and collapse need every message up to the target, so read them all (retention bounds this).
    for (;;) {
      for (const m of page.messages) if (m.offset <= target) read.push(m);
      const last = page.messages.at(-1);
      if (!last || last.offset >= target) break;
      page = await this.store.read(req.stream, last.offset, this.pageSize);
      if (page.epoch !== epoch) {
        return { kind: 'resync', epoch: page.epoch, offset: page.head };
      }
    }
    const { kept, drops } = await this.relevance.filter(read, req.ctx, Date.now());
    let messages = kept;
    let upTo = Math.max(target, after);
    if (req.limit !== undefined && kept.length > req.limit) {
      messages = kept.slice(0, req.limit);
      upTo = messages.at(-1)!.offset;
    }
    // Count only the drops this answer moves past; a later page counts its own.
    for (const drop of drops) if (drop.offset <= upTo) this.stats.values.dropped[drop.reason]++;
    this.stats.values.delivered[req.path === 'http' ? 'http' : 'replay'] += messages.length;
    return { kind: 'messages', epoch, messages, upTo };
  }
}
