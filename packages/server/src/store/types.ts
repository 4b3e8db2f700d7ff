/**
 * The storage seam. A `LogStore` keeps one ordered log per *stream* (the server names a stream
 * `<tenant>/<channel>`; the store treats the name as opaque). Every engine (memory, sqlite, redis)
 * passes the one conformance suite in `test/store/conformance.ts`.
 */

import type { MessagePriority } from '@tether/protocol';
import type { PushStore } from './push-types.js';
import type { ReadStateStore } from '../presence/types.js';

/** The fields of a message as the publisher gave them (and the door defaulted). */
export interface MessageFields {
  /** Idempotency key (unless `idempotent` is false): a repeat within the idempotency window returns the first offset. */
  id: string;
  type: string;
  data: unknown;
  /** Publish time, ms since the Unix epoch. */
  ts: number;
  /** Milliseconds after `ts` at which the message stops being relevant. */
  ttl?: number;
  critical?: boolean;
  collapseKey?: string;
  /** `high` or `low`; absent is `normal` (stores keep `normal` as absent). */
  priority?: MessagePriority;
}

/** What a publisher hands to the store. */
export interface AppendInput extends MessageFields {
  /**
   * Whether `id` is an idempotency key. Default true. False when the server generated `id` (the
   * publisher gave none): nothing can repeat such an id, so the store records no key for it (no
   * map entry, row or Redis field) and never reports it as a duplicate; the message is stored and
   * read like any other, and the flag is not part of it.
   */
  idempotent?: boolean;
}

/** A message as stored: its fields plus its offset in the stream (1, 2, 3 … with no holes). */
export interface StoredMessage extends MessageFields {
  offset: number;
}

export interface AppendResult {
  offset: number;
  epoch: string;
  /** True when `id` was seen within the idempotency window: nothing was appended. */
  duplicate: boolean;
  /** The stored message (the first one, for a duplicate; its fields may differ from the input). */
  message: StoredMessage;
}

/**
 * The state of a stream. `epoch` names the log's life: a new random id whenever the log is created
 * (by its first append, or the first append after the store lost it). `head` is the last offset
 * assigned (0 when empty); `first` is the oldest offset still retained (head + 1 when nothing is
 * retained). A stream with no log reads as `{ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 }`.
 */
export interface StreamInfo {
  epoch: string;
  head: number;
  first: number;
}

export interface ReadResult extends StreamInfo {
  /** Messages with `after < offset <= upTo`, oldest first, at most `limit` of them. */
  messages: StoredMessage[];
}

export interface RetentionOptions {
  /** Messages kept per stream. Default 1000. */
  maxMessages: number;
  /** Milliseconds a message is kept. Default 3_600_000 (1 h). */
  maxAgeMs: number;
  /** Milliseconds an idempotency key is remembered. Default 300_000 (5 min). */
  idempotencyWindowMs: number;
  /**
   * Retention by channel pattern (the part of the stream name after the first `/`, i.e. the
   * channel of `<tenant>/<channel>`; glob `*` as in token claims). The first matching entry wins;
   * a field it leaves out keeps the global value. Default none (every stream keeps the global values).
   */
  perChannel?: readonly ChannelRetention[];
}

/** One `retention.perChannel` entry, e.g. `{ channels: 'chat:*', maxMessages: 5000, maxAgeMs: 86_400_000 }`. */
export interface ChannelRetention {
  /** Channel glob (`*` matches any run of characters), e.g. `chat:*`. */
  channels: string;
  maxMessages?: number;
  maxAgeMs?: number;
}

export interface LogStore {
  /** Engine name, for logs and metrics: `memory`, `sqlite`, `redis`. */
  readonly engine: string;
  /**
   * The push fallback's state (targets, claims, due-queue) in the same engine. The built-in
   * stores have one; a custom store without it gets a memory one (not shared, not durable).
   */
  readonly push?: PushStore;
  /**
   * Read positions and lastSeen (presence/types.ts) in the same engine, so they survive what the log
   * survives. The built-in engines have it; a custom store without it keeps them in memory.
   */
  readonly readState?: ReadStateStore;
  /**
   * Appends messages to one stream in the order given, assigning consecutive offsets; an input
   * whose `id` is known within the idempotency window is not appended and returns its first
   * result (`duplicate: true`); an input with `idempotent: false` is always appended and leaves
   * no key. The stored messages returned carry the JSON of their `data` (message-json.ts). Results are in input order. Creates the stream if needed (the only
   * operation that does; an empty `inputs` creates nothing).
   * Applies count retention. Atomic: either every input is applied or none (the promise rejects).
   */
  append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]>;
  /**
   * `append` done within the call, for an engine whose writes are synchronous (the memory one):
   * the same results, its errors thrown. The publisher's flush then makes no promise per channel.
   */
  appendNow?(stream: string, inputs: readonly AppendInput[]): AppendResult[];
  /**
   * Reads messages with offset > `after`, oldest first, at most `limit`. Stores nothing: a stream
   * that was never written reads as `UNWRITTEN_EPOCH`, head 0, no messages (any name a client may
   * read must not cost the store a row).
   */
  read(stream: string, after: number, limit: number): Promise<ReadResult>;
  /** The stream's epoch, head and first retained offset; stores nothing (see `read`). */
  info(stream: string): Promise<StreamInfo>;
  /**
   * Applies age retention and forgets expired idempotency keys across all streams; `now` in ms.
   * The server calls it periodically. Returns the number of messages removed.
   */
  prune(now: number): Promise<number>;
  /**
   * Resolves when the store can take writes (for `/readyz`); rejects with `store_unavailable`
   * otherwise. Called per readiness check, so an engine that must write to know caches its answer
   * for a short while.
   */
  ping(): Promise<void>;
  /** Flushes and releases resources. Further calls reject. */
  close(): Promise<void>;
}

export { UNWRITTEN_EPOCH } from '@tether/protocol';

export const defaultRetention: RetentionOptions = {
  maxMessages: 1000,
  maxAgeMs: 3_600_000,
  idempotencyWindowMs: 300_000,
};

/**
 * Pages of write-ahead log after which a commit checkpoints it into the data file (SQLite's
 * `wal_autocheckpoint`, whose own default is 1000). The checkpoint runs inside that commit, on the
 * event loop, and costs two fsyncs plus a copy of every page the log changed; an inbox dirties about
 * one index page per message, so at 1000 pages it ran every ~1000 messages, re-copying the same
 * pages each time. 10,000 pages (~40 MB at 4 KiB) makes it ten times rarer and each page copied once
 * per many changes; the log file stays that large, and a power loss can lose what was committed
 * since the last checkpoint (a killed process loses nothing: the commits are in the OS's cache).
 * With the checkpoints off the loop below, only a backstop for a log they could not keep up with.
 */
export const DEFAULT_CHECKPOINT_PAGES = 10_000;

/**
 * How often at most a worker thread checkpoints the log while commits come in (sqlite-checkpointer.ts),
 * so that the writer's own checkpoint above, on the event loop, is only a backstop. Also the most
 * a power loss can take, about: each checkpoint fsyncs the log first.
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
