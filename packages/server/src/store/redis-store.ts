/**
 * The shared LogStore on Redis (ioredis 5): what several Tether nodes use together. Each stream is
 * a Redis Stream plus a few keys under one hash tag (layout in redis-scripts.ts), so a Redis Cluster
 * keeps a stream's keys in one slot. Every append, read and prune step is one Lua script: offsets
 * are assigned inside Redis, atomically, whichever node publishes.
 *
 * Streams due for pruning are found through a registry, a sorted set `<prefix>streams` scored by
 * the earliest time at which something in the stream can expire (a lower bound). It is one key
 * outside every stream's slot, so it is updated by its own command next to the script, never inside
 * it. Ordering keeps it a lower bound: an append registers after its script runs; prune unregisters
 * a stream before its script reads it, and registers the due time that script computed.
 */
import type { Redis } from 'ioredis';
import { TetherError } from '@tether/protocol';
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
import { newEpoch, resolveRetention, storeClosedError } from './store-support.js';
import { RetentionByChannel } from './channel-retention.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { APPEND, PRUNE, READ } from './redis-scripts.js';
import { RedisPushStore } from './redis-push.js';
import type { PushStore } from './push-types.js';
import { RedisReadStateStore } from './redis-read-state.js';
import type { ReadStateStore } from '../presence/types.js';
import {
  messageOfInput,
  messageOfJson,
  messagesOfPage,
  prepareInput,
  replyArray,
  replyInt,
  replyString,
  type PreparedInput,
} from './redis-codec.js';

export { redisStoreClientOptions } from './redis-connection.js';

export interface RedisLogStoreOptions extends RedisConnectionOptions {
  /**
   * Start of every key (inside the hash tag: `{<prefix><stream>}:log`), and of the registry key.
   * Default `tether:`. Nodes that share streams must share it.
   */
  keyPrefix?: string;
  /** Log entries and keys one prune script step may examine (each step blocks Redis briefly). Default 2000. */
  pruneStepBudget?: number;
}

/** Streams pruned at once: their scripts pipeline on the one connection. */
const PRUNE_CONCURRENCY = 16;
const PRUNE_PAGE = 256;

export class RedisLogStore implements LogStore {
  readonly engine = 'redis';
  readonly push: PushStore;
  readonly readState: ReadStateStore;
  readonly keyPrefix: string;
  private readonly retention: RetentionOptions;
  private readonly byChannel: RetentionByChannel;
  private readonly connection: RedisConnection;
  private readonly redis: Redis;
  private readonly registryKey: string;
  private readonly pruneStepBudget: number;
  private closed = false;

  /**
   * `redis`: a `redis://` / `rediss://` URL (the store creates, configures and closes its client),
   * or a client of the caller's (left open by `close`; configure it like `redisStoreClientOptions`).
   */
  constructor(redis: Redis | string, retention: Partial<RetentionOptions> = {}, options: RedisLogStoreOptions = {}) {
    this.retention = resolveRetention(retention);
    this.byChannel = new RetentionByChannel(this.retention);
    this.keyPrefix = options.keyPrefix ?? 'tether:';
    if (this.keyPrefix.includes('{') || this.keyPrefix.includes('}')) {
      throw new RangeError(`keyPrefix must not contain braces (they delimit the hash tag), got "${this.keyPrefix}"`);
    }
    this.registryKey = `${this.keyPrefix}streams`;
    this.pruneStepBudget = Math.max(100, options.pruneStepBudget ?? 2000);
    this.connection = new RedisConnection(redis, options);
    this.redis = this.connection.redis;
    this.push = new RedisPushStore(this.connection, this.keyPrefix);
    this.readState = new RedisReadStateStore(this.connection, this.keyPrefix);
  }

  async append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    this.assertOpen();
    // Serialise every input before Redis sees any: a bad one rejects the whole call, unapplied.
    const prepared = inputs.map(prepareInput);
    if (prepared.length === 0) return [];
    const { maxMessages, maxAgeMs } = this.byChannel.of(stream);
    const args: string[] = [newEpoch(), String(maxMessages)];
    let oldestTs = Infinity;
    for (const input of prepared) {
      args.push(input.id, input.tsText, input.json, input.keyed ? '1' : '0');
      if (input.ts < oldestTs) oldestTs = input.ts;
    }
    const due = Math.floor(oldestTs) + Math.min(maxAgeMs, this.retention.idempotencyWindowMs);
    return this.guard('append', async () => {
      await this.connection.ready('append');
      // Script and registry update go out together (one round trip), the registry update second.
      const register = (): Promise<unknown> => this.redis.zadd(this.registryKey, 'LT', due, stream);
      const [reply] = await Promise.all([this.connection.run(APPEND, this.keysOf(stream), args, register), register()]);
      return appendResults(reply, prepared);
    });
  }

  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const from = after === Infinity ? Number.MAX_SAFE_INTEGER : Number.isFinite(after) ? Math.floor(after) : 0;
    const count = limit === Infinity ? -1 : Math.max(0, Math.floor(limit) || 0);
    return this.guard('read', async () => {
      const [epoch, head, first, page] = await this.readScript(stream, from, count);
      return { ...streamInfo(epoch, head, first), messages: page() };
    });
  }

  async info(stream: string): Promise<StreamInfo> {
    return this.guard('info', async () => {
      const [epoch, head, first] = await this.readScript(stream, 0, 0);
      return streamInfo(epoch, head, first);
    });
  }

  /**
   * Visits the streams the registry says are due at `now`, a few at a time, each in bounded script
   * steps. Several nodes may prune at once: every step is atomic and idempotent, so they only
   * share the work (each counts what it removed itself).
   */
  async prune(now: number): Promise<number> {
    return this.guard('prune', async () => {
      const visited = new Set<string>();
      let removed = 0;
      for (;;) {
        await this.connection.ready('prune');
        const page = await this.redis.zrangebyscore(this.registryKey, '-inf', now, 'LIMIT', 0, PRUNE_PAGE);
        const todo = page.filter((stream) => !visited.has(stream));
        // Streams still due after their visit (appended with old timestamps meanwhile) wait for the next prune.
        if (todo.length === 0) return removed;
        for (const stream of todo) visited.add(stream);
        const workers = Array.from({ length: Math.min(PRUNE_CONCURRENCY, todo.length) }, async () => {
          for (let stream = todo.pop(); stream !== undefined; stream = todo.pop()) {
            // Not `removed += await …`: that reads `removed` before the await, losing other workers' counts.
            const count = await this.pruneStream(stream, now);
            removed += count;
          }
        });
        await Promise.all(workers);
      }
    });
  }

  /**
   * A write, not PING: Redis answers PING while it refuses writes (maxmemory reached under
   * noeviction, a failed RDB save with stop-writes-on-bgsave-error). One small key, expiring.
   */
  async ping(): Promise<void> {
    await this.guard('ping', async () => {
      await this.connection.ready('ping');
      await this.redis.set(`${this.keyPrefix}probe`, String(Date.now()), 'PX', 60_000);
    });
  }

  /** Quits the connection if the store created it; a client handed in is left open. */
  async close(): Promise<void> {
    this.assertOpen();
    this.closed = true;
    await this.connection.close();
  }

  private async pruneStream(stream: string, now: number): Promise<number> {
    const keys = this.keysOf(stream);
    const { idempotencyWindowMs } = this.retention;
    const { maxAgeMs } = this.byChannel.of(stream);
    const args = [now - maxAgeMs, now - idempotencyWindowMs, this.pruneStepBudget, maxAgeMs, idempotencyWindowMs];
    // Unregistered before the script reads the stream: an append that the script does not see
    // registers itself afterwards, so the due time written below never hides it.
    await this.redis.zrem(this.registryKey, stream);
    let removed = 0;
    try {
      for (;;) {
        const reply = replyArray(await this.connection.run(PRUNE, keys, args), 'prune');
        removed += replyInt(reply[0], 'prune removed');
        if (replyInt(reply[1], 'prune done') === 1) {
          if (reply[2] !== null) await this.redis.zadd(this.registryKey, 'LT', replyInt(reply[2], 'due'), stream);
          return removed;
        }
      }
    } catch (err) {
      // Registered again as due now, so that the next prune retries it. If Redis is gone this
      // fails too, and the stream waits for its next append to be registered.
      await this.redis.zadd(this.registryKey, 'LT', now, stream).catch(() => undefined);
      throw err;
    }
  }

  /** Epoch, head, first, and the page of messages (decoded only when asked for). */
  private async readScript(
    stream: string,
    after: number,
    limit: number,
  ): Promise<[string, number, number, () => StoredMessage[]]> {
    await this.connection.ready('read');
    const reply = replyArray(
      await this.connection.run(READ, this.keysOf(stream), [UNWRITTEN_EPOCH, after, limit]),
      'read',
    );
    const from = replyInt(reply[3], 'from');
    const page = replyString(reply[4], 'page');
    return [
      replyString(reply[0], 'epoch'),
      replyInt(reply[1], 'head'),
      replyInt(reply[2], 'first'),
      () => messagesOfPage(page, from),
    ];
  }

  /** meta, log, ids, idts: the order every script expects in KEYS. */
  private keysOf(stream: string): string[] {
    const tag = `{${this.keyPrefix}${stream}}`;
    return [`${tag}:meta`, `${tag}:log`, `${tag}:ids`, `${tag}:idts`];
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosedError(this.engine);
  }

  /** Runs `work` on an open store; any failure that is not already a TetherError is `store_unavailable`. */
  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (err) {
      if (err instanceof TetherError) throw err;
      throw this.connection.unavailable(operation, err);
    }
  }
}

function streamInfo(epoch: string, head: number, first: number): StreamInfo {
  return { epoch, head, first };
}

/** The append script's reply: epoch, then per input its offset (negative: duplicate) and stored JSON. */
function appendResults(reply: unknown, inputs: readonly PreparedInput[]): AppendResult[] {
  const values = replyArray(reply, 'append');
  const epoch = replyString(values[0], 'epoch');
  if (values.length !== 1 + 2 * inputs.length) throw new Error(`append replied ${values.length} values`);
  return inputs.map((input, i) => {
    const signed = replyInt(values[1 + 2 * i], 'offset');
    const offset = Math.abs(signed);
    if (signed > 0) return { offset, epoch, duplicate: false, message: messageOfInput(input, offset) };
    const json = values[2 + 2 * i];
    // The first message may be gone (retention); the key still holds, with this input's fields.
    const message = typeof json === 'string' ? messageOfJson(json, offset) : messageOfInput(input, offset);
    return { offset, epoch, duplicate: true, message };
  });
}
