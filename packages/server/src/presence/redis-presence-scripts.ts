/**
 * The Lua scripts of the Redis PresenceStore (the engine is redis-presence-store.ts). Every first /
 * last decision is one script, so it is atomic against every other node. A script touches the keys
 * of one user or of one channel (one hash tag, one Redis Cluster slot), never both: a user's
 * devices and a channel's members may live in different slots.
 *
 * Layout (`<u>` = `{<prefix>pu:<tenant>:<sub>}`, `<c>` = `{<prefix>pc:<tenant>:<channel>}`, the
 * names URI-encoded so that no `:` or brace of a name can be mistaken for a separator):
 *   <u>:d  hash    deviceId → {"c": connId, "n": nodeId, "s": status, "a": lastActiveAt}
 *   <u>:s  string  the user's status over its devices (absent: offline)
 *   <u>:c  hash    field(channel, deviceId) → {"c": connId, "n": nodeId}   (channelsOf)
 *   <c>:m  hash    field(sub, deviceId) → {"c": connId, "n": nodeId}       (the memberships)
 *   <c>:u  hash    sub → devices of the user in the channel                 (members, count)
 * A compound field is `<length of the first part>:<first part><second part>`, unambiguous whatever
 * the names contain.
 */
import type { RedisScript } from '../store/redis-scripts.js';
import { createHash } from 'node:crypto';

function script(name: string, body: string): RedisScript {
  const source = `#!lua\n${COMMON}\n${body.trim()}\n`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * The user's status over its devices: busy if any device is busy, else the most active one; stored
 * in `<u>:s` (deleted when no device is left, which reads as offline).
 */
const COMMON = `
local RANK = { online = 3, idle = 2, away = 1 }
local function aggregate(d, s)
  local best, rank = false, 0
  for _, v in ipairs(redis.call('HVALS', d)) do
    local st = cjson.decode(v).s
    if st == 'busy' then best = 'busy'; break end
    local r = RANK[st] or 0
    if r > rank then best, rank = st, r end
  end
  if best then
    redis.call('SET', s, best)
    return best
  end
  redis.call('DEL', s)
  return 'offline'
end
local function owner(value) return value and cjson.decode(value) or false end
`;

/**
 * Upserts a device. KEYS <u>:d, <u>:s. ARGV deviceId, entry JSON, nodeId.
 * Returns { first (1/0), status after, status before, the replaced entry's node if another one ('') }.
 */
export const UPSERT_DEVICE = script(
  'presence-upsert-device',
  `
local d, s = KEYS[1], KEYS[2]
local previous = redis.call('GET', s) or 'offline'
local first = redis.call('HLEN', d) == 0 and 1 or 0
local old = owner(redis.call('HGET', d, ARGV[1]))
redis.call('HSET', d, ARGV[1], ARGV[2])
local moved = ''
if old and old.n ~= ARGV[3] then moved = old.n end
return { first, aggregate(d, s), previous, moved }
`,
);

/**
 * Removes a device if its owner matches. KEYS <u>:d, <u>:s. ARGV deviceId, 'c' (match the connId)
 * or 'n' (match the nodeId: a reconciliation), the id.
 * Returns { removed, last, status after, status before, the removed entry's node ('' if none) }.
 */
export const REMOVE_DEVICE = script(
  'presence-remove-device',
  `
local d, s = KEYS[1], KEYS[2]
local previous = redis.call('GET', s) or 'offline'
local old = owner(redis.call('HGET', d, ARGV[1]))
if not old or old[ARGV[2]] ~= ARGV[3] then return { 0, 0, previous, previous, '' } end
redis.call('HDEL', d, ARGV[1])
local status = aggregate(d, s)
return { 1, status == 'offline' and 1 or 0, status, previous, old.n }
`,
);

/**
 * Adds a membership (replacing another connection's). KEYS <c>:m, <c>:u. ARGV field, sub, value JSON, nodeId.
 * Returns { first (the user's first device here), the replaced membership's node if another one ('') }.
 */
export const JOIN = script(
  'presence-join',
  `
local m, u = KEYS[1], KEYS[2]
local old = owner(redis.call('HGET', m, ARGV[1]))
redis.call('HSET', m, ARGV[1], ARGV[3])
if old then
  return { 0, old.n ~= ARGV[4] and old.n or '' }
end
return { redis.call('HINCRBY', u, ARGV[2], 1) == 1 and 1 or 0, '' }
`,
);

/**
 * Removes a membership if its owner matches. KEYS <c>:m, <c>:u. ARGV field, sub, 'c' (match the
 * connId) or 'n' (match the nodeId: a purge), the id. Returns { removed, last }.
 */
export const LEAVE = script(
  'presence-leave',
  `
local m, u = KEYS[1], KEYS[2]
local old = owner(redis.call('HGET', m, ARGV[1]))
if not old or old[ARGV[3]] ~= ARGV[4] then return { 0, 0 } end
redis.call('HDEL', m, ARGV[1])
if redis.call('HINCRBY', u, ARGV[2], -1) <= 0 then
  redis.call('HDEL', u, ARGV[2])
  return { 1, 1 }
end
return { 1, 0 }
`,
);

/** Deletes a hash field if its owner matches. KEYS the hash. ARGV field, 'c' (connId) or 'n' (nodeId), the id. */
export const DELETE_OWNED = script(
  'presence-delete-owned',
  `
local old = owner(redis.call('HGET', KEYS[1], ARGV[1]))
if old and old[ARGV[2]] == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`,
);

/**
 * Drops every device and channel entry of node ARGV[1] from one user. KEYS <u>:d, <u>:s, <u>:c.
 * Returns { devices removed, devices left, status after, status before }.
 */
export const PURGE_USER = script(
  'presence-purge-user',
  `
local d, s, c = KEYS[1], KEYS[2], KEYS[3]
local previous = redis.call('GET', s) or 'offline'
local removed = 0
for _, h in ipairs({ d, c }) do
  local all = redis.call('HGETALL', h)
  for i = 1, #all, 2 do
    if cjson.decode(all[i + 1]).n == ARGV[1] then
      redis.call('HDEL', h, all[i])
      if h == d then removed = removed + 1 end
    end
  end
end
local status = aggregate(d, s)
return { removed, redis.call('HLEN', d), status, previous }
`,
);

/** Writes a device back unless the device has an entry. KEYS <u>:d, <u>:s. ARGV deviceId, entry JSON. */
export const RESTORE_DEVICE = script(
  'presence-restore-device',
  `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then aggregate(KEYS[1], KEYS[2]) end
return 0
`,
);

/** Writes a membership back unless it exists. KEYS <c>:m, <c>:u. ARGV field, sub, value JSON. */
export const RESTORE_MEMBERSHIP = script(
  'presence-restore-membership',
  `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[2], 1) end
return 0
`,
);
