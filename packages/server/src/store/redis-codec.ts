/**
 * How the Redis engine encodes messages and decodes script replies. A log entry holds the message
 * as one JSON text without its offset (the offset is the entry ID), so that a read is one
 * `JSON.parse` per message and the Lua scripts never parse JSON.
 */
import { ErrorCode, TetherError } from '@tether/protocol';
import { optionalFieldsOf, storedMessage, storedPriorityOf, type OptionalFields } from './store-support.js';
import { dataJsonOf, rememberDataJson } from './message-json.js';
import type { AppendInput, StoredMessage } from './types.js';

/** An input ready for the append script. */
export interface PreparedInput {
  id: string;
  /** False: the script records no idempotency key (a server-generated id). */
  keyed: boolean;
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
  // The input's (the publish door's) JSON when it has one: `data` serialized once per publish.
  const data = dataJsonOf(input);
  const optional = optionalFieldsOf(input);
  let json = `{"id":${JSON.stringify(input.id)},"type":${JSON.stringify(input.type)},"data":${data},"ts":${input.ts}`;
  if (optional.ttl !== null) json += `,"ttl":${JSON.stringify(optional.ttl)}`;
  if (optional.critical !== null) json += `,"critical":${optional.critical}`;
  if (optional.collapseKey !== null) json += `,"collapseKey":${JSON.stringify(optional.collapseKey)}`;
  if (optional.priority !== null) json += `,"priority":"${optional.priority}"`;
  json += '}';
  const keyed = input.idempotent !== false;
  return { id: input.id, keyed, type: input.type, ts: input.ts, tsText: String(input.ts), data, optional, json };
}

/** The stored message for an input this call appended (or whose first message retention dropped). */
export function messageOfInput(input: PreparedInput, offset: number): StoredMessage {
  const message = storedMessage(
    { id: input.id, type: input.type, data: JSON.parse(input.data) as unknown, ts: input.ts, offset },
    input.optional,
  );
  rememberDataJson(message, input.data); // the wire reuses it (message-json.ts)
  return Object.freeze(message);
}

/** A message read back from a log entry: the same normal form (and frozen) as every engine's. */
export function messageOfJson(json: string, offset: number): StoredMessage {
  return messageOfParsed(JSON.parse(json), offset);
}

function messageOfParsed(parsed: unknown, offset: number): StoredMessage {
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`log entry ${offset} is not a JSON object`);
  const fields = parsed as Record<string, unknown>;
  const { id, type, ts, ttl, critical, collapseKey, priority } = fields;
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
        priority: storedPriorityOf(priority),
      },
    ),
  );
}

/** The read script's page: a JSON array of stored messages whose offsets start at `from`. */
export function messagesOfPage(page: string, from: number): StoredMessage[] {
  const parsed: unknown = JSON.parse(page);
  if (!Array.isArray(parsed)) throw new Error('unexpected read page');
  return (parsed as unknown[]).map((message, i) => messageOfParsed(message, from + i));
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
