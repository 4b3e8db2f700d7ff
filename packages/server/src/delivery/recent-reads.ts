/**
 * Store reads that reached a channel's head, shared for a moment by every reader of that channel.
 * After a restart the rings are empty and thousands of resuming clients ask the store for the same
 * rows of a shared channel (`room:all`) within seconds: the first read is kept and the others are
 * answered from it, and reads of the same range while one is in flight wait for it (single-flight).
 *
 * Exactly-once is kept by one rule: a kept read serves only a caller whose target (the head its
 * room was sent, `ChannelState.head`) it covers, so it holds every message the caller may be sent
 * and nothing more is needed from the store; a channel that moved past it is read again. A kept
 * read is a snapshot at most `ttlMs` old, as if it had been made then. Bounded in bytes (an
 * estimate: each message's `data` JSON plus its envelope) and in channels, the oldest go first.
 */
import type { LogStore, ReadResult } from '../store/types.js';
import { dataJsonOf } from '../store/message-json.js';

/** Envelope fields beside `data` (id, offset, type, ts, …) in a message's JSON, roughly. */
const ENVELOPE_BYTES = 160;
/** Channels kept at most, however small their reads. */
const MAX_CHANNELS = 1024;

interface Kept {
  /** The read's `after`: it holds every message after it up to `result.head`. */
  after: number;
  result: ReadResult;
  at: number;
  bytes: number;
}

export interface RecentReadsOptions {
  store: LogStore;
  /** Bytes of messages kept at most; 0 turns the sharing off. */
  maxBytes: number;
  /** How long a kept read may serve, ms. */
  ttlMs: number;
  now: () => number;
}

export class RecentReads {
  private readonly kept = new Map<string, Kept>();
  private readonly inFlight = new Map<string, Promise<ReadResult>>();
  private bytes = 0;

  constructor(private readonly o: RecentReadsOptions) {}

  /**
   * `store.read(stream, after, limit)`, answered from a kept read when one covers `after` up to
   * `target` and is fresh. Without a target (HTTP polls read to the store's head) it goes to the store.
   */
  read(stream: string, after: number, limit: number, target: number | undefined): Promise<ReadResult> {
    if (this.o.maxBytes <= 0 || target === undefined) return this.o.store.read(stream, after, limit);
    const kept = this.kept.get(stream);
    if (kept && kept.after <= after && kept.result.head >= target && this.o.now() - kept.at <= this.o.ttlMs) {
      return Promise.resolve(slice(kept.result, after, limit));
    }
    const key = `${stream}\u0000${after}\u0000${limit}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.o.store.read(stream, after, limit).then((result) => {
        this.keep(stream, after, result);
        return result;
      });
      const flight = pending;
      void flight
        .finally(() => {
          if (this.inFlight.get(key) === flight) this.inFlight.delete(key);
        })
        .catch(() => undefined);
      this.inFlight.set(key, flight);
    }
    return pending.then((result) => (result.head >= target ? result : this.o.store.read(stream, after, limit)));
  }

  /** Keeps a read that reached the head (it holds everything after `after`), within the bounds. */
  private keep(stream: string, after: number, result: ReadResult): void {
    const last = result.messages.at(-1);
    const complete = last === undefined ? after >= result.head : last.offset >= result.head;
    if (!complete) return;
    let bytes = 0;
    for (const message of result.messages) bytes += dataJsonOf(message).length + ENVELOPE_BYTES;
    if (bytes > this.o.maxBytes) return;
    this.drop(stream);
    this.kept.set(stream, { after, result, at: this.o.now(), bytes });
    this.bytes += bytes;
    for (const oldest of this.kept.keys()) {
      if (this.bytes <= this.o.maxBytes && this.kept.size <= MAX_CHANNELS) break;
      this.drop(oldest);
    }
  }

  private drop(stream: string): void {
    const kept = this.kept.get(stream);
    if (!kept) return;
    this.kept.delete(stream);
    this.bytes -= kept.bytes;
  }
}

/** The part of a kept read after `after`, at most `limit` messages, as the store would answer. */
function slice(result: ReadResult, after: number, limit: number): ReadResult {
  const { messages } = result;
  let start = 0;
  while (start < messages.length && messages[start]!.offset <= after) start++;
  return {
    epoch: result.epoch,
    head: result.head,
    first: result.first,
    messages: messages.slice(start, start + limit),
  };
}
