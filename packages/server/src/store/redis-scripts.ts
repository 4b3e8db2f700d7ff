/**
 * The Redis engine's Lua scripts (the engine itself is redis-store.ts). Every operation that reads
 * or changes a stream's state is one script, so that it is atomic against every other node: Redis
 * runs one script at a time. Each script touches only the keys of one stream (one hash tag, one
 * Cluster slot), passed in KEYS in the order of `StreamKeys`.
 *
 * Layout of a stream's keys (`{<prefix><stream>}:…`):
 *   meta  hash    epoch, head (last offset assigned, 0 if none), first (oldest retained offset)
 *   log   stream  one entry per retained message, entry ID `<offset>-0`, fields `t` (ts) and `m`
 *                 (the message as JSON, without its offset); approximate trimming may leave a few
 *                 entries below `first`, which reads never return
 *   ids   hash    idempotency key → first offset
 *   idts  zset    idempotency key scored by its message's ts (so prune finds expired keys)
 *
 * The `#!lua` shebang makes Redis 7 check memory (OOM) before a script starts rather than at its
 * first write, so that a script never stops halfway: Redis does not roll back a failed script.
 * Numbers go back to Redis through `string.format('%d')`: Lua's own number-to-string would write
 * large integers in exponent form.
 */
import { createHash } from 'node:crypto';

export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, body: string): RedisScript {
  const source = `#!lua\n${COMMON}\n${body.trim()}\n`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Shared by every script: KEYS, number formatting, and the stream's state (creating it if asked). */
const COMMON = `
local meta, log, ids, idts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function int(n) return string.format('%d', n) end
local function offset_of(entry_id) return tonumber(string.match(entry_id, '^%d+')) end
-- Returns epoch, head, first; creates the stream with candidate epoch \`epoch\` when missing (only
-- append passes one; without it a missing stream returns false, 0, 1 and nothing is written). A
-- missing meta means the log's life ended (never written, or lost): leftovers of an earlier life
-- (say, keys evicted one by one) go with it, so the new life starts clean at offset 1.
local function state(epoch)
  local s = redis.call('HMGET', meta, 'epoch', 'head', 'first')
  if s[1] then return s[1], tonumber(s[2]), tonumber(s[3]) end
  if not epoch then return false, 0, 1 end
  redis.call('DEL', log, ids, idts)
  redis.call('HSET', meta, 'epoch', epoch, 'head', 0, 'first', 1)
  return epoch, 0, 1
end
`;

/**
 * append. ARGV: candidate epoch, maxMessages, then per input: id, ts, message JSON, keyed ('1': the
 * id is an idempotency key; '0': a server-generated id, neither checked nor recorded).
 * Returns { epoch, then per input: offset (negative for a duplicate), stored JSON of a
 * duplicate's first message (false if retention dropped it, or for a new message) }.
 * Idempotency keys are checked and set as it goes, so duplicates inside one batch are found too.
 */
export const APPEND = script(
  'append',
  `
local epoch, head, first = state(ARGV[1])
local max_messages = tonumber(ARGV[2])
local start_head = head
local out = { epoch }
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  local keyed = ARGV[i + 3] == '1'
  local known = keyed and redis.call('HGET', ids, id)
  if known then
    local entry = redis.call('XRANGE', log, known .. '-0', known .. '-0')[1]
    out[#out + 1] = -tonumber(known)
    out[#out + 1] = entry and entry[2][4] or false
  else
    head = head + 1
    redis.call('XADD', log, int(head) .. '-0', 't', ARGV[i + 1], 'm', ARGV[i + 2])
    if keyed then
      redis.call('HSET', ids, id, int(head))
      redis.call('ZADD', idts, ARGV[i + 1], id)
    end
    out[#out + 1] = head
    out[#out + 1] = false
  end
end
if head ~= start_head then
  if head - first + 1 > max_messages then
    first = head - max_messages + 1
    -- Approximate: frees whole stream nodes only (cheap); \`first\` is the exact boundary.
    redis.call('XTRIM', log, 'MINID', '~', int(first) .. '-0')
  end
  redis.call('HSET', meta, 'head', int(head), 'first', int(first))
end
return out
`,
);

/**
 * read / info. ARGV: the epoch to report for a stream with no log (UNWRITTEN_EPOCH), after, limit
 * (-1: no limit; 0: state only). Writes nothing: a stream with no meta reads as empty, and any
 * leftovers of a lost life are cleared by the append that starts the next one.
 * Returns { epoch, head, first, offset of the first message returned, the messages' stored JSON
 * joined into one JSON array }: one bulk reply and one JSON.parse for the whole page, far cheaper
 * for the client than one nested reply per entry. The offsets are consecutive (checked here).
 */
export const READ = script(
  'read',
  `
local epoch, head, first = state(false)
if not epoch then return { ARGV[1], 0, 1, 1, '[]' } end
-- Clamped to first..head + 1, so that \`from\` is always a small exact integer.
local from = math.min(math.max(tonumber(ARGV[2]) + 1, first), head + 1)
local limit = tonumber(ARGV[3])
local entries = {}
if limit ~= 0 and from <= head then
  if limit < 0 then
    entries = redis.call('XRANGE', log, int(from) .. '-0', int(head) .. '-0')
  else
    entries = redis.call('XRANGE', log, int(from) .. '-0', int(head) .. '-0', 'COUNT', limit)
  end
end
local parts = {}
for i, entry in ipairs(entries) do
  if offset_of(entry[1]) ~= from + i - 1 then
    return redis.error_reply('tether: log ' .. log .. ' has no entry ' .. int(from + i - 1))
  end
  parts[i] = entry[2][4]
end
return { epoch, head, first, from, '[' .. table.concat(parts, ',') .. ']' }
`,
);

/**
 * prune, one bounded step for one stream (a script blocks all of Redis while it runs).
 * ARGV: message cutoff, key cutoff, budget (entries and keys examined), maxAgeMs, idempotency window.
 * Age retention drops the longest prefix with ts <= cutoff; keys with ts <= key cutoff are forgotten.
 * Returns { removed, done (1 when nothing is left to do at these cutoffs), due or false }, where
 * due is the earliest time at which something here can expire next: a lower bound for the registry.
 */
export const PRUNE = script(
  'prune',
  `
local epoch, head, first = state(false)
if not epoch then
  redis.call('DEL', log, ids, idts)
  return { 0, 1, false }
end
local message_cutoff, key_cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local max_age, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local done = 1
local new_first = first
local fresh = false
while new_first <= head and not fresh do
  if budget <= 0 then done = 0 break end
  local entries = redis.call('XRANGE', log, int(new_first) .. '-0', '+', 'COUNT', math.min(budget, 200))
  if #entries == 0 then new_first = head + 1 break end
  budget = budget - #entries
  for _, entry in ipairs(entries) do
    if tonumber(entry[2][2]) > message_cutoff then fresh = true break end
    new_first = offset_of(entry[1]) + 1
  end
end
local removed = new_first - first
if removed > 0 then
  redis.call('HSET', meta, 'first', int(new_first))
  -- An emptied log is trimmed exactly (frees all of it); otherwise whole nodes only.
  if new_first > head then
    redis.call('XTRIM', log, 'MINID', int(new_first) .. '-0')
  else
    redis.call('XTRIM', log, 'MINID', '~', int(new_first) .. '-0')
  end
end
local key_budget = math.max(budget, 100)
local expired = redis.call('ZRANGEBYSCORE', idts, '-inf', key_cutoff, 'LIMIT', 0, key_budget)
for i = 1, #expired, 500 do
  local chunk = { unpack(expired, i, math.min(i + 499, #expired)) }
  redis.call('HDEL', ids, unpack(chunk))
  redis.call('ZREM', idts, unpack(chunk))
end
if #expired == key_budget then done = 0 end
local due = false
if new_first <= head then
  local entry = redis.call('XRANGE', log, int(new_first) .. '-0', '+', 'COUNT', 1)[1]
  if entry then due = tonumber(entry[2][2]) + max_age end
end
local oldest_key = redis.call('ZRANGE', idts, 0, 0, 'WITHSCORES')
if oldest_key[2] then
  local key_due = tonumber(oldest_key[2]) + window
  if not due or key_due < due then due = key_due end
end
-- Floored (a lower bound stays a lower bound), as text: an integer reply could not carry it whole.
return { removed, done, due and int(math.floor(due)) or false }
`,
);
