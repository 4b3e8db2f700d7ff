/**
 * How the Redis engine talks to Redis: a client that fails fast while Redis is down and reconnects
 * by itself, a gate that waits briefly for a (re)connection, and EVALSHA with its EVAL fallback.
 *
 * Why fail fast: ioredis' defaults queue commands while disconnected and retry them after the
 * reconnect, so a publish could hang for minutes, or be applied long after its caller gave up. Here
 * a command either runs on a live connection or rejects within about `readyWaitMs`; the caller gets
 * `store_unavailable` and never an acknowledgement for something Redis did not take.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { ioredis } from './redis-modules.js';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { RedisScript } from './redis-scripts.js';

export interface RedisConnectionOptions {
  /** A command that gets no reply within this many ms rejects (Redis hung, network black hole). Default 5000. */
  commandTimeoutMs?: number;
  /**
   * How long after losing the connection (or after the start) commands still wait for it to come
   * back before they reject; later ones reject at once, until it is back. Default 500.
   */
  readyWaitMs?: number;
}

/**
 * ioredis options for a client the store creates, and that a caller handing in its own client
 * should copy: no offline queue, no retries of a command, no replay of unanswered commands after a
 * reconnect (an append whose reply was lost has been rejected; its publisher retries with the same
 * id), reconnect attempts at least once a second for ever, and auto-pipelining.
 */
export function redisStoreClientOptions(commandTimeoutMs = 5000): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, Math.min(commandTimeoutMs, 5000)),
    retryStrategy: (attempt: number) => Math.min(attempt * 50, 1000),
    enableReadyCheck: true,
    // Shows in CLIENT LIST, so that an operator can tell the store's connections from others.
    connectionName: 'tether-store',
    // Commands issued in one event-loop turn (the Publisher's flush: every channel's append) go out
    // as one pipeline, one write; the next waits until its replies are in (group commit for Redis).
    enableAutoPipelining: true,
  };
}

export class RedisConnection {
  readonly redis: Redis;
  /** True when the store created the client (it then also closes it). */
  readonly owned: boolean;
  private readonly readyWaitMs: number;
  private lastError: Error | undefined;
  /** When the connection was last lost (or the store started without one); undefined while ready. */
  private downSince: number | undefined;
  /** One shared wait for `ready`, however many commands are waiting (one listener, not one each). */
  private readyWait: Promise<void> | undefined;
  private readonly scriptsLoaded = new Set<string>();

  constructor(redis: Redis | string, options: RedisConnectionOptions = {}) {
    this.readyWaitMs = options.readyWaitMs ?? 500;
    if (typeof redis === 'string') {
      this.owned = true;
      this.redis = new (ioredis().Redis)(redis, redisStoreClientOptions(options.commandTimeoutMs));
      // Without a listener ioredis logs every failed reconnect; the store reports failures itself.
      this.redis.on('error', (err: Error) => {
        this.lastError = err;
      });
    } else {
      this.owned = false;
      this.redis = redis;
    }
    if (this.redis.status !== 'ready') this.downSince = Date.now();
    this.redis.on('ready', () => {
      this.downSince = undefined;
    });
    this.redis.on('close', () => {
      this.downSince ??= Date.now();
    });
  }

  /**
   * Resolves once the connection is ready. While it is not, a command waits for it until
   * `readyWaitMs` after it was lost, so that a blip (a reconnect takes ~50 ms) costs no error and
   * a real outage fails every command at once: `store_unavailable`.
   */
  async ready(operation: string): Promise<void> {
    const { redis } = this;
    if (redis.status === 'ready') return;
    if (redis.status === 'end') throw this.unavailable(operation, new Error('the Redis connection was closed'));
    if (redis.status === 'wait') {
      // A lazy client handed in: its wait starts now, not when the store was made.
      this.downSince = Date.now();
      redis.connect().catch(() => undefined);
    }
    const remaining = this.readyWaitMs - (Date.now() - (this.downSince ?? Date.now()));
    if (remaining <= 0) throw this.unavailable(operation, this.notReachable());
    this.readyWait ??= new Promise<void>((resolve) => {
      redis.once('ready', () => {
        this.readyWait = undefined;
        resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(operation, this.notReachable())), remaining);
    });
    try {
      await Promise.race([this.readyWait, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * EVALSHA, falling back to EVAL when Redis does not know the script (a restart emptied its script
   * cache). The first run on this connection is an EVAL, which also caches it for the next EVALSHA.
   * The command is written before this returns, so a command the caller issues next runs after the
   * script; on the fallback path it would have run before the EVAL, so `rerun` is called again.
   */
  async run(
    script: RedisScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
    rerun?: () => Promise<unknown>,
  ): Promise<unknown> {
    if (!this.scriptsLoaded.has(script.sha)) {
      const result = await this.redis.eval(script.source, keys.length, ...keys, ...args);
      this.scriptsLoaded.add(script.sha);
      return result;
    }
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      const result = await this.redis.eval(script.source, keys.length, ...keys, ...args);
      if (rerun) await rerun();
      return result;
    }
  }

  /** Quits a client the store created (disconnects if it is not connected); leaves a given one alone. */
  async close(): Promise<void> {
    if (!this.owned) return;
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // Fall through: drop the connection.
      }
    }
    this.redis.disconnect();
  }

  private notReachable(): Error {
    const reason = this.lastError?.message ?? `connection ${this.redis.status}`;
    return new Error(`Redis not reachable (${reason})`);
  }

  unavailable(operation: string, cause: unknown): TetherError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new TetherError(ErrorCode.StoreUnavailable, `redis ${operation} failed: ${reason}`, { cause });
  }
}
