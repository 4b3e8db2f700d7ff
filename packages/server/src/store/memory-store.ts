/**
 * The in-process LogStore: nothing survives a restart (a new process means new epochs, so clients
 * resync). Every operation runs synchronously inside its promise, so calls never interleave.
 */
import { MemoryPushStore } from './memory-push.js';
import type { PushStore } from './push-types.js';
import { MemoryReadStateStore } from './memory-read-state.js';
import type { ReadStateStore } from '../presence/types.js';
import {
  UNWRITTEN_EPOCH,
  type AppendInput,
  type AppendResult,
  type LogStore,
  type ReadResult,
  type RetentionOptions,
  type StoredMessage,
  type StreamInfo,
} from './types.js';
import { newEpoch, resolveRetention, setOptionalFields, storeClosedError } from './store-support.js';
import { RetentionByChannel } from './channel-retention.js';
import { dataJsonOf, messageOfJson } from './message-json.js';

interface MemoryStream {
  readonly epoch: string;
  /** Last offset assigned (0 when nothing was ever appended). */
  head: number;
  /** Retained messages, offsets `head - messages.length + 1 … head`, oldest first. */
  messages: StoredMessage[];
}

const UNWRITTEN: StreamInfo = Object.freeze({ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 });

/** Idempotency keys are bucketed by this many ms of their `ts`, so prune visits only expired keys. */
const KEY_BUCKET_MS = 1000;

export class MemoryLogStore implements LogStore {
  readonly engine = 'memory';
  readonly push: PushStore = new MemoryPushStore();
  readonly readState: ReadStateStore = new MemoryReadStateStore();
  private readonly retention: RetentionOptions;
  private readonly byChannel: RetentionByChannel;
  private readonly streams = new Map<string, MemoryStream>();
  /** First offset of each idempotency key, by stream then id. */
  private readonly keysByStream = new Map<string, Map<string, number>>();
  /** Keys by bucket (`floor(ts / KEY_BUCKET_MS)`): `[stream, id]` pairs. */
  private readonly keyBuckets = new Map<number, Array<[string, string]>>();
  private closed = false;

  constructor(retention: Partial<RetentionOptions> = {}) {
    this.retention = resolveRetention(retention);
    this.byChannel = new RetentionByChannel(this.retention);
  }

  async append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    return this.appendNow(stream, inputs);
  }

  appendNow(stream: string, inputs: readonly AppendInput[]): AppendResult[] {
    this.assertOpen();
    // Every input's text before touching state: data JSON cannot hold rejects the whole call, unapplied.
    const texts = inputs.map((input) => dataJsonOf(input));
    if (inputs.length === 0) return [];
    const log = this.streamOf(stream);
    // Server-made ids leave no key: an inbox published to without ids gets no key map at all.
    let keys: Map<string, number> | undefined;
    for (const input of inputs) {
      if (input.idempotent === false) continue;
      keys = this.keysOf(stream);
      break;
    }
    const results: AppendResult[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      const keyed = input.idempotent !== false;
      const firstOffset = keyed ? keys?.get(input.id) : undefined;
      if (firstOffset !== undefined) {
        const first = messageAt(log, firstOffset) ?? storedOf(input, firstOffset, texts[i]!);
        results.push({ offset: firstOffset, epoch: log.epoch, duplicate: true, message: first });
        continue;
      }
      log.head += 1;
      const stored = storedOf(input, log.head, texts[i]!);
      log.messages.push(stored);
      if (keys && keyed) {
        keys.set(stored.id, stored.offset);
        this.rememberKey(stream, stored.id, stored.ts);
      }
      results.push({ offset: stored.offset, epoch: log.epoch, duplicate: false, message: stored });
    }
    const excess = log.messages.length - this.byChannel.of(stream).maxMessages;
    if (excess > 0) log.messages.splice(0, excess);
    return results;
  }

  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    this.assertOpen();
    const log = this.streams.get(stream);
    if (log === undefined) return { ...UNWRITTEN, messages: [] };
    const first = firstOffsetOf(log);
    const start = Math.max(Math.floor(after) + 1, first) - first;
    const count = Math.max(0, Math.floor(limit));
    return { epoch: log.epoch, head: log.head, first, messages: log.messages.slice(start, start + count) };
  }

  async info(stream: string): Promise<StreamInfo> {
    this.assertOpen();
    const log = this.streams.get(stream);
    if (log === undefined) return { ...UNWRITTEN };
    return { epoch: log.epoch, head: log.head, first: firstOffsetOf(log) };
  }

  async prune(now: number): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const [stream, log] of this.streams) {
      const messageCutoff = now - this.byChannel.of(stream).maxAgeMs;
      // Age retention removes the longest expired prefix, so the retained range has no holes.
      let expired = 0;
      while (expired < log.messages.length && (log.messages[expired]?.ts ?? Infinity) <= messageCutoff) expired += 1;
      if (expired > 0) log.messages.splice(0, expired);
      removed += expired;
    }
    this.forgetKeys(now - this.retention.idempotencyWindowMs);
    return removed;
  }

  /** Streams held (each was appended to): reads never add one. For tests and metrics. */
  get streamCount(): number {
    return this.streams.size;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.assertOpen();
    this.closed = true;
    this.streams.clear();
    this.keysByStream.clear();
    this.keyBuckets.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosedError(this.engine);
  }

  /** The stream's log, created on its first append. */
  private streamOf(stream: string): MemoryStream {
    let log = this.streams.get(stream);
    if (log === undefined) {
      log = { epoch: newEpoch(), head: 0, messages: [] };
      this.streams.set(stream, log);
    }
    return log;
  }

  private keysOf(stream: string): Map<string, number> {
    let keys = this.keysByStream.get(stream);
    if (keys === undefined) {
      keys = new Map();
      this.keysByStream.set(stream, keys);
    }
    return keys;
  }

  private rememberKey(stream: string, id: string, ts: number): void {
    const bucket = Math.floor(ts / KEY_BUCKET_MS);
    const entries = this.keyBuckets.get(bucket);
    if (entries === undefined) this.keyBuckets.set(bucket, [[stream, id]]);
    else entries.push([stream, id]);
  }

  /** Forgets keys with `ts <= cutoff`: never early, at most one bucket late. */
  private forgetKeys(cutoff: number): void {
    for (const [bucket, entries] of this.keyBuckets) {
      if ((bucket + 1) * KEY_BUCKET_MS - 1 > cutoff) continue;
      for (const [stream, id] of entries) {
        const keys = this.keysByStream.get(stream);
        keys?.delete(id);
        if (keys?.size === 0) this.keysByStream.delete(stream);
      }
      this.keyBuckets.delete(bucket);
    }
  }
}

function firstOffsetOf(log: MemoryStream): number {
  return log.head - log.messages.length + 1;
}

function messageAt(log: MemoryStream, offset: number): StoredMessage | undefined {
  return log.messages[offset - firstOffsetOf(log)];
}

/**
 * The stored form: data goes through JSON (as every engine stores it), so later changes to the
 * caller's object cannot reach the log. As the SQLite engine's, `data` is its JSON text (the
 * door's), parsed only if something reads it (message-json.ts): an inbox message is written to the
 * wire from the text and then only waits here, so it keeps no parsed copy (which the scavenger
 * copied and promoted with every message). Frozen: readers share these objects, and none may
 * change the log.
 */
function storedOf(input: AppendInput, offset: number, json: string): StoredMessage {
  const message = messageOfJson(input.id, input.type, input.ts, offset, json);
  setOptionalFields(message, input);
  return Object.freeze(message);
}
