/**
 * How the Redis engine encodes messages and decodes script replies. A log entry holds the message
 * as one JSON text without its offset (the offset is the entry ID), so that a read is one
 * `JSON.parse` per message and the Lua scripts never parse JSON.
 */
import { ErrorCode, TetherError } from '@tether/protocol';
import { optionalFieldsOf, serializeData, storedMessage, type OptionalFields } from './store-support.js';
import type { AppendInput, StoredMessage } from './types.js';

/** An input ready for the append script. */
export interface PreparedInput {
  id: string;
  type: string;
  ts: number;
  /** `ts` as the script's `t` field (a number Lua's `tonumber` reads). */
  tsText: string;
  /** `data` as JSON text. */
  data: string;
  optional: OptionalFields;
  /** The whole message (without offset) as stored in the log entry. */
  json: string;
}

/** Serialises everything up front: unserialisable data is the caller's `bad_request`, nothing applied. */
export function prepareInput(input: AppendInput): PreparedInput {
  if (!Number.isFinite(input.ts)) {
    throw new TetherError(ErrorCode.BadRequest, `message ts must be a finite number, got ${String(input.ts)}`);
  }
  const data = serializeData(input.data);
  const optional = optionalFieldsOf(input);
  let json = `{"id":${JSON.stringify(input.id)},"type":${JSON.stringify(input.type)},"data":${data},"ts":${input.ts}`;
  if (optional.ttl !== null) json += `,"ttl":${JSON.stringify(optional.ttl)}`;
  if (optional.critical !== null) json += `,"critical":${optional.critical}`;
  if (optional.collapseKey !== null) json += `,"collapseKey":${JSON.stringify(optional.collapseKey)}`;
  json += '}';
  return { id: input.id, type: input.type, ts: input.ts, tsText: String(input.ts), data, optional, json };
}

/** The stored message for an input this call appended (or whose first message retention dropped). */
export function messageOfInput(input: PreparedInput, offset: number): StoredMessage {
  return Object.freeze(
    storedMessage(
      { id: input.id, type: input.type, data: JSON.parse(input.data) as unknown, ts: input.ts, offset },
      input.optional,
    ),
  );
}

/** A message read back from a log entry: the same normal form (and frozen) as every engine's. */
export function messageOfJson(json: string, offset: number): StoredMessage {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`log entry ${offset} is not a JSON object`);
  const fields = parsed as Record<string, unknown>;
  const { id, type, ts, ttl, critical, collapseKey } = fields;
  if (typeof id !== 'string' || typeof type !== 'string' || typeof ts !== 'number') {
    throw new Error(`log entry ${offset} lacks id, type or ts`);
  }
  return Object.freeze(
    storedMessage(
      { id, type, data: fields['data'] ?? null, ts, offset },
      {
        ttl: typeof ttl === 'number' ? ttl : null,
        critical: typeof critical === 'boolean' ? critical : null,
        collapseKey: typeof collapseKey === 'string' ? collapseKey : null,
      },
    ),
  );
}

/** Offset of a log entry ID `<offset>-0`. */
export function offsetOfEntryId(entryId: string): number {
  const offset = Number.parseInt(entryId, 10);
  if (!Number.isSafeInteger(offset)) throw new Error(`unexpected log entry ID ${entryId}`);
  return offset;
}

// Reply shapes: a script reply that is not what the script returns means a broken store.

export function replyArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`unexpected ${what} reply: ${typeof value}`);
  return value as unknown[];
}

export function replyInt(value: unknown, what: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number))
    throw new Error(`unexpected ${what}: ${String(value)}`);
  return number;
}

export function replyString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`unexpected ${what}: ${String(value)}`);
  return value;
}

/** `[id, [field, value, …]]` entries of the log as the read script returns them. */
export function messagesOfEntries(entries: unknown): StoredMessage[] {
  return replyArray(entries, 'entries').map((entry) => {
    const [entryId, fields] = replyArray(entry, 'entry');
    const values = replyArray(fields, 'entry fields');
    // Fields are written in one order: t, <ts>, m, <json>.
    return messageOfJson(replyString(values[3], 'entry message'), offsetOfEntryId(replyString(entryId, 'entry ID')));
  });
}
