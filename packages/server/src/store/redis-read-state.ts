/**
 * The Redis engine's ReadStateStore, shared by every node. One hash per user holds its read
 * positions (field: channel, value: offset); its lastSeen is a string next to it under the same
 * hash tag, so a user's read state lives in one Cluster slot:
 *
 *   {<prefix>read:<tenant>/<sub>}        hash    channel → read offset
 *   {<prefix>read:<tenant>/<sub>}:seen   string  last activity, ms since the Unix epoch
 *
 * Both writes are a compare-and-set script (Redis runs one script at a time), so they never move
 * back whichever node writes. Durable as far as the Redis is (AOF).
 */
import { createHash } from 'node:crypto';
import { TetherError } from '@tether/protocol';
import type { ReadStateStore } from '../presence/types.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisScript } from './redis-scripts.js';

function script(name: string, body: string): RedisScript {
  const source = `#!lua\n${body.trim()}\n`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** KEYS: the user's hash. ARGV: channel, offset. Returns the position after (never lower than before). */
const MARK_READ = script(
  'read-mark',
  `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local offset = tonumber(ARGV[2])
if offset > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return offset
end
return current
`,
);

/** KEYS: the user's lastSeen key. ARGV: at (an integer string). */
const TOUCH = script(
  'read-touch',
  `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
`,
);

export class RedisReadStateStore implements ReadStateStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
  ) {}

  async markRead(tenant: string, sub: string, channel: string, offset: number): Promise<number> {
    const after = await this.guard('markRead', () =>
      this.connection.run(MARK_READ, [this.positionsKey(tenant, sub)], [channel, String(Math.floor(offset))]),
    );
    return Number(after);
  }

  async readPositions(tenant: string, sub: string, channels?: readonly string[]): Promise<Map<string, number>> {
    const key = this.positionsKey(tenant, sub);
    if (channels === undefined) {
      const all = await this.guard('readPositions', () => this.connection.redis.hgetall(key));
      return new Map(Object.entries(all).map(([channel, offset]) => [channel, Number(offset)]));
    }
    if (channels.length === 0) return new Map();
    const values = await this.guard('readPositions', () => this.connection.redis.hmget(key, ...channels));
    return new Map(channels.map((channel, i) => [channel, Number(values[i] ?? 0)]));
  }

  async touchLastSeen(tenant: string, sub: string, at: number): Promise<void> {
    await this.guard('touchLastSeen', () =>
      this.connection.run(TOUCH, [this.seenKey(tenant, sub)], [String(Math.floor(at))]),
    );
  }

  async lastSeen(tenant: string, sub: string): Promise<number | null> {
    const value = await this.guard('lastSeen', () => this.connection.redis.get(this.seenKey(tenant, sub)));
    return value === null ? null : Number(value);
  }

  private positionsKey(tenant: string, sub: string): string {
    return `{${this.keyPrefix}read:${tenant}/${sub}}`;
  }

  private seenKey(tenant: string, sub: string): string {
    return `${this.positionsKey(tenant, sub)}:seen`;
  }

  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      await this.connection.ready(operation);
      return await work();
    } catch (err) {
      if (err instanceof TetherError) throw err;
      throw this.connection.unavailable(operation, err);
    }
  }
}
