/**
 * The PresenceStore on Redis (ioredis): who is connected now, shared by the nodes of a cluster.
 * Every first / last decision is one Lua script (redis-presence-scripts.ts, with the key layout) on
 * the keys of one user or of one channel, each under its own hash tag, so that a Redis Cluster
 * spreads them and no script crosses a slot.
 *
 * Entries carry no TTL of their own: liveness is per node, not per device (one key to refresh per
 * node instead of one per device). Each node holds a lease (a key with a TTL, `renewLease`) and
 * keeps an index of its entries (`{<prefix>pn:<node>}:i`); when a lease expires, a survivor finds
 * the node in the set of nodes that own entries (`expiredNodes`) and purges it. The set outlives
 * every node, so entries left by a cluster that stopped as a whole go when the next node starts.
 */
import type { Redis } from 'ioredis';
import { TetherError } from '@tether/protocol';
import { RedisConnection, type RedisConnectionOptions } from '../store/redis-connection.js';
import type { RedisScript } from '../store/redis-scripts.js';
import { replyArray, replyInt, replyString } from '../store/redis-codec.js';
import { storeClosedError } from '../store/store-support.js';
import {
  DELETE_OWNED,
  JOIN,
  LEAVE,
  PURGE_USER,
  REMOVE_DEVICE,
  RESTORE_DEVICE,
  RESTORE_MEMBERSHIP,
  UPSERT_DEVICE,
} from './redis-presence-scripts.js';
import type {
  DeviceEntry,
  DeviceStatus,
  MembershipKey,
  PresenceMember,
  PresenceStatus,
  PresenceStore,
  PurgedUser,
  RemoveResult,
  UpsertResult,
} from './types.js';

export interface RedisPresenceStoreOptions extends RedisConnectionOptions {
  /** Start of every key (inside the hash tags). Default `tether:`. Nodes that share presence must share it. */
  keyPrefix?: string;
  /** How long a purge claim holds: if its survivor dies mid-purge, another one takes over after this. Default 30_000. */
  purgeClaimMs?: number;
}

/** The per-node index's entries: a device, or a membership. */
type IndexEntry = ['d', string, string, string] | ['m', string, string, string, string];

const enc = encodeURIComponent;
/** `<length>:<a><b>`: a hash field of two names that no content can make ambiguous. */
const field = (a: string, b: string): string => `${a.length}:${a}${b}`;

function unfield(value: string): [string, string] {
  const colon = value.indexOf(':');
  const length = Number(value.slice(0, colon));
  return [value.slice(colon + 1, colon + 1 + length), value.slice(colon + 1 + length)];
}

export class RedisPresenceStore implements PresenceStore {
  readonly engine = 'redis';
  readonly keyPrefix: string;
  private readonly connection: RedisConnection;
  private readonly redis: Redis;
  private readonly purgeClaimMs: number;
  private closed = false;

  /** `redis`: a URL (the store owns the client) or a client of the caller's (left open by `close`). */
  constructor(redis: Redis | string, options: RedisPresenceStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'tether:';
    if (/[{}]/.test(this.keyPrefix)) {
      throw new RangeError(`keyPrefix must not contain braces (they delimit the hash tag), got "${this.keyPrefix}"`);
    }
    this.purgeClaimMs = options.purgeClaimMs ?? 30_000;
    this.connection = new RedisConnection(redis, options);
    this.redis = this.connection.redis;
  }

  /** Called on every (re)connection to Redis: after a Redis restart its data may be gone. */
  onReady(listener: () => void): void {
    this.redis.on('ready', listener);
  }

  async upsertDevice(device: DeviceEntry): Promise<UpsertResult> {
    return this.guard('upsertDevice', async () => {
      const u = this.userKeys(device.tenant, device.sub);
      const entry = deviceJson(device);
      // Indexed first, in the same write: an index entry without its device is harmless, the reverse a ghost.
      const [reply] = await Promise.all([
        this.run(UPSERT_DEVICE, [u.d, u.s], [device.deviceId, entry, device.nodeId]).then((r) =>
          replyArray(r, 'upsert'),
        ),
        this.index(device.nodeId, ['d', device.tenant, device.sub, device.deviceId]),
      ]);
      const moved = replyString(reply[3], 'moved');
      if (moved !== '') this.unindex(moved, ['d', device.tenant, device.sub, device.deviceId]);
      return {
        first: replyInt(reply[0], 'first') === 1,
        status: replyString(reply[1], 'status') as PresenceStatus,
        previous: replyString(reply[2], 'previous') as PresenceStatus,
      };
    });
  }

  async removeDevice(tenant: string, sub: string, deviceId: string, connId: string): Promise<RemoveResult> {
    return this.guard('removeDevice', async () => {
      const u = this.userKeys(tenant, sub);
      const reply = replyArray(await this.run(REMOVE_DEVICE, [u.d, u.s], [deviceId, 'c', connId]), 'remove');
      const node = replyString(reply[4], 'node');
      if (node !== '') this.unindex(node, ['d', tenant, sub, deviceId]);
      return {
        removed: replyInt(reply[0], 'removed') === 1,
        last: replyInt(reply[1], 'last') === 1,
        status: replyString(reply[2], 'status') as PresenceStatus,
        previous: replyString(reply[3], 'previous') as PresenceStatus,
      };
    });
  }

  async devicesOf(tenant: string, sub: string): Promise<DeviceEntry[]> {
    return this.guard('devicesOf', async () => {
      await this.connection.ready('devicesOf');
      const all = await this.redis.hgetall(this.userKeys(tenant, sub).d);
      return Object.entries(all)
        .map(([deviceId, json]) => {
          const e = JSON.parse(json) as StoredDevice;
          return { tenant, sub, deviceId, connId: e.c, nodeId: e.n, status: e.s, lastActiveAt: e.a };
        })
        .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    });
  }

  async statusOf(tenant: string, sub: string): Promise<PresenceStatus> {
    return this.guard('statusOf', async () => {
      await this.connection.ready('statusOf');
      return ((await this.redis.get(this.userKeys(tenant, sub).s)) as DeviceStatus | null) ?? 'offline';
    });
  }

  async join(key: MembershipKey): Promise<{ first: boolean }> {
    return this.guard('join', async () => {
      const c = this.channelKeys(key.tenant, key.channel);
      const owner = ownerJson(key);
      const [reply] = await Promise.all([
        this.run(JOIN, [c.m, c.u], [field(key.sub, key.deviceId), key.sub, owner, key.nodeId]).then((r) =>
          replyArray(r, 'join'),
        ),
        this.index(key.nodeId, membershipEntry(key)),
      ]);
      // channelsOf's view, per device: written in any order by any node, it converges.
      await this.redis.hset(this.userKeys(key.tenant, key.sub).c, field(key.channel, key.deviceId), owner);
      const moved = replyString(reply[1], 'moved');
      if (moved !== '') this.unindex(moved, membershipEntry(key));
      return { first: replyInt(reply[0], 'first') === 1 };
    });
  }

  async leave(key: MembershipKey): Promise<{ removed: boolean; last: boolean }> {
    return this.guard('leave', async () => {
      const c = this.channelKeys(key.tenant, key.channel);
      const reply = replyArray(
        await this.run(LEAVE, [c.m, c.u], [field(key.sub, key.deviceId), key.sub, 'c', key.connId]),
        'leave',
      );
      const removed = replyInt(reply[0], 'removed') === 1;
      if (removed) {
        await this.run(
          DELETE_OWNED,
          [this.userKeys(key.tenant, key.sub).c],
          [field(key.channel, key.deviceId), 'c', key.connId],
        );
        this.unindex(key.nodeId, membershipEntry(key));
      }
      return { removed, last: replyInt(reply[1], 'last') === 1 };
    });
  }

  async channelsOf(tenant: string, sub: string): Promise<string[]> {
    return this.guard('channelsOf', async () => {
      await this.connection.ready('channelsOf');
      const fields = await this.redis.hkeys(this.userKeys(tenant, sub).c);
      return [...new Set(fields.map((f) => unfield(f)[0]))].sort();
    });
  }

  async members(tenant: string, channel: string): Promise<PresenceMember[]> {
    return this.guard('members', async () => {
      await this.connection.ready('members');
      const counts = Object.entries(await this.redis.hgetall(this.channelKeys(tenant, channel).u));
      // One GET per user, in other slots: auto-pipelined into one write.
      const statuses = await Promise.all(counts.map(([sub]) => this.redis.get(this.userKeys(tenant, sub).s)));
      return counts
        .map(([sub, devices], i) => ({
          sub,
          devices: Number(devices),
          status: (statuses[i] ?? 'online') as DeviceStatus,
        }))
        .sort((a, b) => (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
    });
  }

  async count(tenant: string, channel: string): Promise<number> {
    return this.guard('count', async () => {
      await this.connection.ready('count');
      return this.redis.hlen(this.channelKeys(tenant, channel).u);
    });
  }

  /**
   * One survivor claims the purge (SET NX with a TTL: if it dies midway, another takes over once the
   * claim expires), then removes each indexed entry whose node is still `nodeId` (one script per
   * user and per membership; an entry a reconnect moved to another node stays), drops the index and
   * forgets the node.
   */
  async purgeNode(nodeId: string): Promise<PurgedUser[]> {
    return this.guard('purgeNode', async () => {
      await this.connection.ready('purgeNode');
      const index = this.indexKey(nodeId);
      const claim = `{${this.keyPrefix}pn:${enc(nodeId)}}:p`;
      const won = await this.redis.set(claim, String(Date.now()), 'PX', this.purgeClaimMs, 'NX');
      if (won !== 'OK') return [];
      const entries = (await this.redis.smembers(index)).map((text) => JSON.parse(text) as IndexEntry);
      const users = new Map<string, { tenant: string; sub: string; leftChannels: string[] }>();
      const userOf = (tenant: string, sub: string): { tenant: string; sub: string; leftChannels: string[] } => {
        const id = field(tenant, sub);
        let user = users.get(id);
        if (!user) users.set(id, (user = { tenant, sub, leftChannels: [] }));
        return user;
      };
      await Promise.all(
        entries.map(async (entry) => {
          if (entry[0] === 'd') return void userOf(entry[1], entry[2]);
          const [, tenant, channel, sub, deviceId] = entry;
          const c = this.channelKeys(tenant, channel);
          const user = userOf(tenant, sub);
          const reply = replyArray(
            await this.run(LEAVE, [c.m, c.u], [field(sub, deviceId), sub, 'n', nodeId]),
            'purge',
          );
          if (replyInt(reply[1], 'last') === 1) user.leftChannels.push(channel);
        }),
      );
      const purged: PurgedUser[] = [];
      await Promise.all(
        [...users.values()].map(async (user) => {
          const u = this.userKeys(user.tenant, user.sub);
          const reply = replyArray(await this.run(PURGE_USER, [u.d, u.s, u.c], [nodeId]), 'purge');
          const offline = replyInt(reply[0], 'removed') > 0 && replyInt(reply[1], 'left') === 0;
          if (offline || user.leftChannels.length > 0)
            purged.push({ ...user, leftChannels: user.leftChannels.sort(), offline });
        }),
      );
      // Done: the node owns nothing now (if it was only silent, its next renewal adds it back).
      await Promise.all([this.redis.del(index, claim), this.redis.zrem(this.nodesKey, nodeId)]);
      return purged;
    });
  }

  async restore(devices: DeviceEntry[], memberships: MembershipKey[]): Promise<void> {
    await this.guard('restore', async () => {
      await Promise.all([
        ...devices.map(async (device) => {
          const u = this.userKeys(device.tenant, device.sub);
          await Promise.all([
            this.run(RESTORE_DEVICE, [u.d, u.s], [device.deviceId, deviceJson(device)]),
            this.index(device.nodeId, ['d', device.tenant, device.sub, device.deviceId]),
          ]);
        }),
        ...memberships.map(async (key) => {
          const c = this.channelKeys(key.tenant, key.channel);
          const owner = ownerJson(key);
          await Promise.all([
            this.run(RESTORE_MEMBERSHIP, [c.m, c.u], [field(key.sub, key.deviceId), key.sub, owner]),
            this.index(key.nodeId, membershipEntry(key)),
          ]);
          await this.redis.hsetnx(this.userKeys(key.tenant, key.sub).c, field(key.channel, key.deviceId), owner);
        }),
      ]);
    });
  }

  /**
   * Removes this node's entries that are not live any more (`live`: the node's tracker's view), and
   * answers the users that lost channels or went offline by it, so their leaves can be sent. For
   * after Redis was unreachable: a removal that failed meanwhile, or one that found an emptied Redis
   * before `restore` wrote the entry back, would otherwise leave a ghost. An entry is kept when a
   * live one has its place (same device, and channel), whatever its connection; a removal matches
   * the node, so an entry a reconnect moved to another node stays.
   */
  async reconcileNode(
    nodeId: string,
    live: { devices: DeviceEntry[]; memberships: MembershipKey[] },
  ): Promise<PurgedUser[]> {
    return this.guard('reconcileNode', async () => {
      await this.connection.ready('reconcileNode');
      const keep = new Set([
        ...live.devices.map((d) => indexEntry(['d', d.tenant, d.sub, d.deviceId])),
        ...live.memberships.map((m) => indexEntry(membershipEntry(m))),
      ]);
      const stale = (await this.redis.smembers(this.indexKey(nodeId))).filter((text) => !keep.has(text));
      const users = new Map<string, PurgedUser>();
      const userOf = (tenant: string, sub: string): PurgedUser => {
        const id = field(tenant, sub);
        let user = users.get(id);
        if (!user) users.set(id, (user = { tenant, sub, leftChannels: [], offline: false }));
        return user;
      };
      await Promise.all(
        stale.map(async (text) => {
          const entry = JSON.parse(text) as IndexEntry;
          if (entry[0] === 'd') {
            const [, tenant, sub, deviceId] = entry;
            const u = this.userKeys(tenant, sub);
            const reply = replyArray(await this.run(REMOVE_DEVICE, [u.d, u.s], [deviceId, 'n', nodeId]), 'reconcile');
            if (replyInt(reply[1], 'last') === 1) userOf(tenant, sub).offline = true;
          } else {
            const [, tenant, channel, sub, deviceId] = entry;
            const c = this.channelKeys(tenant, channel);
            const reply = replyArray(
              await this.run(LEAVE, [c.m, c.u], [field(sub, deviceId), sub, 'n', nodeId]),
              'reconcile',
            );
            await this.run(DELETE_OWNED, [this.userKeys(tenant, sub).c], [field(channel, deviceId), 'n', nodeId]);
            if (replyInt(reply[1], 'last') === 1) userOf(tenant, sub).leftChannels.push(channel);
          }
          await this.redis.srem(this.indexKey(nodeId), text);
        }),
      );
      for (const user of users.values()) user.leftChannels.sort();
      return [...users.values()];
    });
  }

  /**
   * Renews this node's lease (`leaseMs`) and records the node among the owners of entries. Resolves
   * true when the lease was missing: this node is new, or Redis lost it (a restart emptied it, or the
   * node was silent past its lease and was purged) — then its live entries must be written back.
   */
  async renewLease(nodeId: string, leaseMs: number): Promise<boolean> {
    return this.guard('renewLease', async () => {
      await this.connection.ready('renewLease');
      const [previous] = await Promise.all([
        this.redis.set(this.leaseKey(nodeId), String(Date.now()), 'PX', leaseMs, 'GET'),
        this.redis.zadd(this.nodesKey, Date.now(), nodeId),
      ]);
      return previous === null;
    });
  }

  /** Nodes that own entries but hold no lease: the ones to purge (this node excluded). */
  async expiredNodes(self: string): Promise<string[]> {
    return this.guard('expiredNodes', async () => {
      await this.connection.ready('expiredNodes');
      const ids = (await this.redis.zrange(this.nodesKey, 0, -1)).filter((id) => id !== self);
      const alive = await Promise.all(ids.map((id) => this.redis.exists(this.leaseKey(id))));
      return ids.filter((_, i) => alive[i] === 0);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
  }

  private get nodesKey(): string {
    return `${this.keyPrefix}presence:nodes`;
  }

  private leaseKey(nodeId: string): string {
    return `${this.keyPrefix}presence:lease:${nodeId}`;
  }

  private indexKey(nodeId: string): string {
    return `{${this.keyPrefix}pn:${enc(nodeId)}}:i`;
  }

  private userKeys(tenant: string, sub: string): { d: string; s: string; c: string } {
    const tag = `{${this.keyPrefix}pu:${enc(tenant)}:${enc(sub)}}`;
    return { d: `${tag}:d`, s: `${tag}:s`, c: `${tag}:c` };
  }

  private channelKeys(tenant: string, channel: string): { m: string; u: string } {
    const tag = `{${this.keyPrefix}pc:${enc(tenant)}:${enc(channel)}}`;
    return { m: `${tag}:m`, u: `${tag}:u` };
  }

  /** Called in the same turn as the entry's script, so both go out in one write (auto-pipelining). */
  private async index(nodeId: string, entry: IndexEntry): Promise<void> {
    await this.connection.ready('index');
    await this.redis.sadd(this.indexKey(nodeId), indexEntry(entry));
  }

  private unindex(nodeId: string, entry: IndexEntry): void {
    this.redis.srem(this.indexKey(nodeId), indexEntry(entry)).catch(() => undefined); // a stale index entry is harmless
  }

  private async run(script: RedisScript, keys: string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    await this.connection.ready(script.name);
    return this.connection.run(script, keys, args);
  }

  /** Runs `work` on an open store; any failure that is not already a TetherError is `store_unavailable`. */
  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw storeClosedError(this.engine);
    try {
      return await work();
    } catch (err) {
      if (err instanceof TetherError) throw err;
      throw this.connection.unavailable(`presence ${operation}`, err);
    }
  }
}

interface StoredDevice {
  c: string;
  n: string;
  s: DeviceStatus;
  a: number;
}

function deviceJson(device: DeviceEntry): string {
  const stored: StoredDevice = { c: device.connId, n: device.nodeId, s: device.status, a: device.lastActiveAt };
  return JSON.stringify(stored);
}

function ownerJson(key: MembershipKey): string {
  return JSON.stringify({ c: key.connId, n: key.nodeId });
}

function membershipEntry(key: MembershipKey): IndexEntry {
  return ['m', key.tenant, key.channel, key.sub, key.deviceId];
}

function indexEntry(entry: IndexEntry): string {
  return JSON.stringify(entry);
}
