import type { Position } from '@tether/protocol';
import type { LogStore, StoredMessage } from '../store/types.js';
import type { MessageTraits, RelevanceContext, RelevanceFilter } from './relevance.js';
import type { ResyncReason, StatsCounter } from './stats.js';
import { countDrop } from './relevance-counts.js';
import type { RecentReads } from './recent-reads.js';

export type ReplayOutcome =
  | { kind: 'resync'; epoch: string; offset: number; reason: ResyncReason }
  | {
      kind: 'messages';
      epoch: string;
      /** Relevant messages after the position, oldest first. */
      messages: StoredMessage[];
      /** The position the reader may advance to once it handled `messages`. */
      upTo: number;
      /** Size of `messages` as JSON, bytes. */
      bytes: number;
      /** What this read learned up to its target: hand it to the next read of the same replay. */
      scan?: ReplayScan;
    };

/**
 * The traits of every message up to a target, as one read scanned them. The next read of the same
 * replay (same epoch and target, a later position) reuses them instead of scanning the channel
 * again, so a replay of a large backlog in many batches reads it about twice, not once per batch.
 */
export interface ReplayScan {
  epoch: string;
  target: number;
  traits: readonly MessageTraits[];
}

export interface ReplayRequest {
  stream: string;
  position: Position;
  ctx: RelevanceContext;
  /** Read no further than this offset (a node's fanned-out head); default: the store's head. */
  target?: number;
  /** Return at most this many messages (`upTo` then stops before the next one). */
  limit?: number;
  /** Return at most this many bytes of messages (as JSON). Default: no byte limit. */
  maxBytes?: number;
  /** The first message comes even when it alone is over `maxBytes` (so a read always moves). Default true. */
  firstAnyway?: boolean;
  /** The previous read's `scan`, when this read continues the same replay. */
  scan?: ReplayScan;
  /** Which path reads (drops are counted by it): a socket resume, a redelivery, an HTTP poll. */
  path: 'replay' | 'redelivery' | 'http';
}

/** Store page of the first read: small, since messages may be large and it may be all that is needed. */
const FIRST_PAGE = 4;
/** Smallest later page, however large the messages. */
const MIN_PAGE = 8;

/** A message's size on the wire: its JSON, in bytes, with the envelope's `expiresAt` when it has a ttl. */
export function messageBytes(message: StoredMessage): number {
  const expiresAt = message.ttl === undefined ? 0 : `,"expiresAt":${message.ts + message.ttl}`.length;
  return Buffer.byteLength(JSON.stringify(message)) + expiresAt;
}

/** Lets other work run between store pages: no read keeps the event loop for long. */
export function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Messages held in full during a read, with their sizes. */
interface Held {
  message: StoredMessage;
  bytes: number;
}

export interface ReplayerDeps {
  store: LogStore;
  relevance: RelevanceFilter;
  stats: StatsCounter;
  /** Messages per store page at most (`replayBatchSize`). */
  pageSize: number;
  /** The server's clock (the `now` option). */
  now: () => number;
  /** Reads of a channel's head shared by its resuming readers; default: every read goes to the store. */
  reads?: RecentReads;
}

/**
 * Reads what a position missed, through the relevance rules. The one place that decides between
 * "here is what you missed" and `resync` (position out of retention, or of another epoch), shared
 * by socket resume and the HTTP fallback so both answer the same for the same position. Callers
 * count a resync when they send one.
 *
 * Bounded in memory and time: an answer holds at most `maxBytes` (and `limit`) of messages, with
 * `upTo` where it stopped, so a large backlog comes in several answers. Supersession and collapse
 * need every message up to the target, so the read scans that far, but keeps of the messages
 * beyond the answer only their traits (offset, type, expiry, collapse key); store pages are sized
 * to about `maxBytes` and the loop yields between them.
 */
export class Replayer {
  private readonly store: LogStore;
  private readonly relevance: RelevanceFilter;
  private readonly stats: StatsCounter;
  private readonly pageSize: number;
  private readonly now: () => number;
  private readonly reads: RecentReads | undefined;

  constructor(deps: ReplayerDeps) {
    this.reads = deps.reads;
    this.store = deps.store;
    this.relevance = deps.relevance;
    this.stats = deps.stats;
    this.pageSize = deps.pageSize;
    this.now = deps.now;
  }

  async read(req: ReplayRequest): Promise<ReplayOutcome> {
    const after = req.position.offset;
    let page = await this.page(req, after, Math.min(FIRST_PAGE, this.pageSize));
    const { epoch, head, first } = page;
    // Offset 0 has handled nothing, so any life of the log serves it (that is how a reader of a
    // channel that was unwritten, UNWRITTEN_EPOCH, moves to the first real epoch): no resync.
    const otherEpoch = after > 0 && req.position.epoch !== undefined && req.position.epoch !== epoch;
    const missedRetention = after < head && after + 1 < first;
    if (otherEpoch || after > head || missedRetention) {
      return {
        kind: 'resync',
        epoch,
        offset: head,
        reason: otherEpoch ? 'epoch' : after > head ? 'ahead' : 'retention',
      };
    }
    const target = Math.min(req.target ?? head, head);
    const maxBytes = req.maxBytes ?? Infinity;
    const limit = req.limit ?? Infinity;
    const firstAnyway = req.firstAnyway ?? true;

    // 1. Scan to the target: traits of every message, whole messages while they fit the budget.
    const scanned: MessageTraits[] = [];
    const held: Held[] = [];
    let heldBytes = 0;
    let heldAll = true;
    // Bytes and count of the messages measured so far: they size the store pages.
    let measuredBytes = 0;
    let measured = 0;
    const firstMessage = page.messages[0];
    if (!firstAnyway && firstMessage && firstMessage.offset <= target && messageBytes(firstMessage) > maxBytes) {
      // No room even for the next message: answer "nothing yet" without scanning the channel.
      return { kind: 'messages', epoch, messages: [], upTo: after, bytes: 0 };
    }
    const known = req.scan !== undefined && req.scan.epoch === epoch && req.scan.target === target;
    const traits = known ? req.scan!.traits : scanned;
    /** The first message scanned but not held (it did not fit): its size may end the answer without a read. */
    let unheld: Held | undefined;
    if (known) {
      // Pick from this first page, then by reading on from its end.
      for (const message of page.messages) {
        if (message.offset > target) break;
        const bytes = messageBytes(message);
        measuredBytes += bytes;
        measured++;
        held.push({ message, bytes });
      }
      heldAll = (page.messages.at(-1)?.offset ?? after) >= target;
    }
    while (!known) {
      for (const message of page.messages) {
        if (message.offset > target) break;
        scanned.push(this.relevance.traitsOf(message, req.ctx.channel));
        if (!heldAll) continue;
        const bytes = messageBytes(message);
        measuredBytes += bytes;
        measured++;
        if (held.length === 0 || heldBytes + bytes <= maxBytes) {
          held.push({ message, bytes });
          heldBytes += bytes;
        } else {
          heldAll = false;
          unheld = { message, bytes };
        }
      }
      const last = page.messages.at(-1);
      if (!last || last.offset >= target) break;
      await yieldLoop();
      page = await this.page(req, last.offset, this.pageFor(measuredBytes, measured, maxBytes));
      if (page.epoch !== epoch) return { kind: 'resync', epoch: page.epoch, offset: page.head, reason: 'epoch' };
    }
    const dropped = this.relevance.staticDrops(traits, this.now());

    // 2. Pick the survivors in offset order while they fit: from what is held, then read again.
    const picked: StoredMessage[] = [];
    let pickedBytes = 0;
    let upTo = Math.max(target, after);
    const take = (message: StoredMessage, bytes: number): boolean => {
      if (dropped.has(message.offset)) return true;
      if ((picked.length > 0 || !firstAnyway) && (picked.length >= limit || pickedBytes + bytes > maxBytes)) {
        upTo = message.offset - 1;
        return false;
      }
      picked.push(message);
      pickedBytes += bytes;
      return true;
    };
    let full = false;
    for (const h of held) {
      if (!take(h.message, h.bytes)) {
        full = true;
        break;
      }
    }
    if (!full && unheld && !dropped.has(unheld.message.offset)) {
      // Taking it will fail only if it does not fit: then there is no need to read it again.
      const wouldFit =
        (picked.length === 0 && firstAnyway) || (picked.length < limit && pickedBytes + unheld.bytes <= maxBytes);
      if (!wouldFit) {
        upTo = unheld.message.offset - 1;
        full = true;
      }
    }
    let from = held.at(-1)?.message.offset ?? after;
    // One more than fits, so that the message that ends the answer comes in the same page.
    const pageSize = this.pageFor(measuredBytes, measured, maxBytes) + 1;
    while (!full && !heldAll && from < target) {
      await yieldLoop();
      const again = await this.page(req, from, pageSize);
      if (again.epoch !== epoch) return { kind: 'resync', epoch: again.epoch, offset: again.head, reason: 'epoch' };
      if (again.messages[0]?.offset !== from + 1) {
        upTo = from; // retention removed them meanwhile: stop before the hole (the next read resyncs)
        break;
      }
      for (const message of again.messages) {
        if (message.offset > target || !take(message, messageBytes(message))) {
          full = true;
          break;
        }
        from = message.offset;
      }
    }

    // 3. The app's hooks, for what is sent only.
    const { kept, drops } = await this.relevance.askHooks(picked, req.ctx);
    // Count only the drops this answer moves past; a later answer counts its own.
    for (const [offset, reason] of dropped)
      if (offset > after && offset <= upTo) countDrop(this.stats, req.path, reason);
    for (const drop of drops) countDrop(this.stats, req.path, drop.reason);
    this.stats.values.delivered[req.path === 'http' ? 'http' : 'replay'] += kept.length;
    let bytes = pickedBytes;
    if (drops.length > 0) bytes = kept.reduce((sum, m) => sum + messageBytes(m), 0);
    return { kind: 'messages', epoch, messages: kept, upTo, bytes, scan: { epoch, target, traits } };
  }

  /** A store page; a socket replay (it has a target) may be answered by a shared recent read. */
  private page(req: ReplayRequest, after: number, limit: number) {
    return this.reads
      ? this.reads.read(req.stream, after, limit, req.target)
      : this.store.read(req.stream, after, limit);
  }

  /** A store page of about `maxBytes`, judged by the messages seen so far. */
  private pageFor(bytes: number, count: number, maxBytes: number): number {
    if (count === 0 || !Number.isFinite(maxBytes)) return this.pageSize;
    const perMessage = Math.max(1, bytes / count);
    return Math.max(MIN_PAGE, Math.min(this.pageSize, Math.floor(maxBytes / perMessage)));
  }
}

/** The longest prefix of `messages` within `maxBytes` (at least one message), and its size. */
export function prefixWithin(
  messages: readonly StoredMessage[],
  maxBytes: number,
): { messages: StoredMessage[]; bytes: number } {
  const out: StoredMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (out.length > 0 && bytes + size > maxBytes) break;
    out.push(message);
    bytes += size;
  }
  return { messages: out, bytes };
}
