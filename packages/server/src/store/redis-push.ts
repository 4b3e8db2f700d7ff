/**
 * The Redis engine's PushStore, shared by every node of a cluster. Claims, the due-queue and its
 * entries share one hash tag (`{<prefix>push}`), so that claiming and queueing is one script (one
 * Cluster slot); a user's targets live in a hash of their own (`{<prefix>pushdev:<tenant>/<sub>}`).
 *
 *   {…push}:claim:<key>  string  set NX with a PX expiry: the (message, user) is decided
 *   {…push}:due          zset    entry key scored by when it is next due
 *   {…push}:entries      hash    entry key → the PushDue as JSON
 *   {…pushdev:…}         hash    `<provider>\0<token>` → `{deviceId, at, seq}`
 */
import { createHash } from 'node:crypto';
import { TetherError } from '@tether/protocol';
import type { PushDevice } from '../push/provider.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisScript } from './redis-scripts.js';
import type { DeviceMatch, PushDue, PushStore } from './push-types.js';

function script(name: string, body: string): RedisScript {
  const source = `#!lua\n${body.trim()}\n`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** KEYS: claim, due, entries. ARGV: ttlMs, dueAt, key, entry JSON. */
const SCHEDULE = script(
  'push-schedule',
  `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
`,
);

/** KEYS: due, entries. ARGV: now, limit, leaseUntil. Returns the entries' JSON (their `dueAt` is rewritten by the caller). */
const TAKE = script(
  'push-take',
  `
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, key in ipairs(keys) do
  local entry = redis.call('HGET', KEYS[2], key)
  if entry then
    redis.call('ZADD', KEYS[1], ARGV[3], key)
    out[#out + 1] = entry
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
`,
);

/** KEYS: due, entries. ARGV: key, dueAt, entry JSON. Only an entry still queued is updated. */
const RESCHEDULE = script(
  'push-reschedule',
  `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`,
);

/**
 * KEYS: the user's device hash. ARGV: field, deviceId, provider, registeredAt, maxPerUser.
 * Drops the device's older target for the same provider, writes the new one, evicts the oldest past the bound.
 */
const REGISTER = script(
  'push-register',
  `
local all = redis.call('HGETALL', KEYS[1])
local prefix = ARGV[3] .. '\\0'
local seq = 0
for i = 1, #all, 2 do
  local value = cjson.decode(all[i + 1])
  if value.seq > seq then seq = value.seq end
  if all[i] ~= ARGV[1] and value.deviceId == ARGV[2] and string.sub(all[i], 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({deviceId = ARGV[2], at = tonumber(ARGV[4]), seq = seq + 1}))
local evicted = 0
while redis.call('HLEN', KEYS[1]) > tonumber(ARGV[5]) do
  local rest = redis.call('HGETALL', KEYS[1])
  local oldest, oldestAt, oldestSeq = nil, nil, nil
  for i = 1, #rest, 2 do
    local value = cjson.decode(rest[i + 1])
    if oldest == nil or value.at < oldestAt or (value.at == oldestAt and value.seq < oldestSeq) then
      oldest, oldestAt, oldestSeq = rest[i], value.at, value.seq
    end
  end
  redis.call('HDEL', KEYS[1], oldest)
  evicted = evicted + 1
end
return evicted
`,
);

/** KEYS: the user's device hash. ARGV: deviceId. */
const UNREGISTER_DEVICE = script(
  'push-unregister-device',
  `
local all = redis.call('HGETALL', KEYS[1])
local removed = 0
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).deviceId == ARGV[1] then
    removed = removed + redis.call('HDEL', KEYS[1], all[i])
  end
end
return removed
`,
);

interface StoredTarget {
  deviceId: string;
  at: number;
  seq: number;
}

export class RedisPushStore implements PushStore {
  private readonly tag: string;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
  ) {
    this.tag = `{${keyPrefix}push}`;
  }

  async registerDevice(device: PushDevice, maxPerUser: number, now: number): Promise<{ evicted: number }> {
    const field = fieldOf(device.provider, device.token);
    const args = [field, device.deviceId, device.provider, now, maxPerUser];
    const evicted = await this.guard('push register', () =>
      this.connection.run(REGISTER, [this.devicesKey(device.tenant, device.sub)], args),
    );
    return { evicted: Number(evicted) };
  }

  async unregisterDevices(tenant: string, sub: string, match: DeviceMatch): Promise<number> {
    const key = this.devicesKey(tenant, sub);
    const removed = await this.guard('push unregister', () =>
      'deviceId' in match
        ? this.connection.run(UNREGISTER_DEVICE, [key], [match.deviceId])
        : this.connection.redis.hdel(key, fieldOf(match.provider, match.token)),
    );
    return Number(removed);
  }

  async devicesOf(tenant: string, sub: string): Promise<PushDevice[]> {
    const all = await this.guard('push devices', () => this.connection.redis.hgetall(this.devicesKey(tenant, sub)));
    return Object.entries(all)
      .map(([field, json]) => {
        const split = field.indexOf('\u0000');
        const stored = JSON.parse(json) as StoredTarget;
        const device: PushDevice = {
          tenant,
          sub,
          provider: field.slice(0, split),
          token: field.slice(split + 1),
          deviceId: stored.deviceId,
        };
        return { device, at: stored.at, seq: stored.seq };
      })
      .sort((a, b) => b.at - a.at || b.seq - a.seq)
      .map((r) => r.device);
  }

  async schedule(due: PushDue, claimTtlMs: number): Promise<boolean> {
    const keys = [`${this.tag}:claim:${due.key}`, `${this.tag}:due`, `${this.tag}:entries`];
    const args = [Math.max(1, Math.ceil(claimTtlMs)), due.dueAt, due.key, JSON.stringify(due)];
    return Number(await this.guard('push schedule', () => this.connection.run(SCHEDULE, keys, args))) === 1;
  }

  async takeDue(now: number, limit: number, leaseUntil: number): Promise<PushDue[]> {
    const keys = [`${this.tag}:due`, `${this.tag}:entries`];
    const reply = await this.guard('push take', () => this.connection.run(TAKE, keys, [now, limit, leaseUntil]));
    if (!Array.isArray(reply)) return [];
    return reply.map((json) => ({ ...(JSON.parse(String(json)) as PushDue), dueAt: leaseUntil }));
  }

  async reschedule(due: PushDue): Promise<void> {
    const keys = [`${this.tag}:due`, `${this.tag}:entries`];
    await this.guard('push reschedule', () =>
      this.connection.run(RESCHEDULE, keys, [due.key, due.dueAt, JSON.stringify(due)]),
    );
  }

  async finish(key: string): Promise<void> {
    await this.guard('push finish', () =>
      this.connection.redis.multi().zrem(`${this.tag}:due`, key).hdel(`${this.tag}:entries`, key).exec(),
    );
  }

  /** Redis expires claims by itself (`PX`). */
  async pruneClaims(): Promise<number> {
    return 0;
  }

  private devicesKey(tenant: string, sub: string): string {
    return `{${this.keyPrefix}pushdev:${tenant}/${sub}}`;
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

function fieldOf(provider: string, token: string): string {
  return `${provider}\u0000${token}`;
}
