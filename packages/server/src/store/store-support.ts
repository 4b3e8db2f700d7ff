/**
 * What every LogStore engine shares: retention defaults, epoch ids, and the one normal form of a
 * stored message, so that engines agree to the key (deep equality holds across engines).
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, TetherError } from '@tether/protocol';
import { checkPerChannel } from './channel-retention.js';
import { defaultRetention, type AppendInput, type RetentionOptions, type StoredMessage } from './types.js';

/** Merges `partial` over the defaults; keys set to `undefined` keep their default. */
export function resolveRetention(partial: Partial<RetentionOptions> = {}): RetentionOptions {
  const retention: RetentionOptions = {
    maxMessages: partial.maxMessages ?? defaultRetention.maxMessages,
    maxAgeMs: partial.maxAgeMs ?? defaultRetention.maxAgeMs,
    idempotencyWindowMs: partial.idempotencyWindowMs ?? defaultRetention.idempotencyWindowMs,
  };
  if (partial.perChannel !== undefined && partial.perChannel.length > 0) {
    checkPerChannel(partial.perChannel);
    retention.perChannel = partial.perChannel.map((rule) => ({ ...rule }));
  }
  if (!Number.isSafeInteger(retention.maxMessages) || retention.maxMessages < 1) {
    throw new RangeError(`retention.maxMessages must be an integer >= 1, got ${retention.maxMessages}`);
  }
  if (!(retention.maxAgeMs > 0)) {
    throw new RangeError(`retention.maxAgeMs must be > 0, got ${retention.maxAgeMs}`);
  }
  if (!(retention.idempotencyWindowMs >= 0)) {
    throw new RangeError(`retention.idempotencyWindowMs must be >= 0, got ${retention.idempotencyWindowMs}`);
  }
  return retention;
}

/** A new log life: 64 random bits as hex (short, since every frame carries it). */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/**
 * `data` as JSON text. `undefined` (which JSON cannot hold) becomes `null`, as it would on the wire.
 * Data that JSON cannot represent (cycles, BigInt) is the caller's fault: `bad_request`.
 */
export function serializeData(data: unknown): string {
  try {
    return JSON.stringify(data) ?? 'null';
  } catch (err) {
    throw new TetherError(ErrorCode.BadRequest, 'message data is not JSON-serialisable', { cause: err });
  }
}

/** The optional fields of a message, as nullable columns or values. */
export interface OptionalFields {
  ttl: number | null;
  critical: boolean | null;
  collapseKey: string | null;
  /** `high` or `low`; null is `normal`. */
  priority: StoredPriority | null;
}

/** The priorities a store records: `normal`, the default, is recorded as absent. */
export type StoredPriority = 'high' | 'low';

export function storedPriorityOf(value: unknown): StoredPriority | null {
  return value === 'high' || value === 'low' ? value : null;
}

/**
 * The input's optional fields as columns (null when absent), written onto `target`, which has them
 * already (a prepared row builds them in its own literal: one object per input, no copy).
 */
export function setOptionalColumns(target: OptionalFields, input: AppendInput): void {
  target.ttl = typeof input.ttl === 'number' ? input.ttl : null;
  target.critical = typeof input.critical === 'boolean' ? input.critical : null;
  target.collapseKey = typeof input.collapseKey === 'string' ? input.collapseKey : null;
  target.priority = storedPriorityOf(input.priority);
}

export function optionalFieldsOf(input: AppendInput): OptionalFields {
  const fields: OptionalFields = { ttl: null, critical: null, collapseKey: null, priority: null };
  setOptionalColumns(fields, input);
  return fields;
}

/**
 * The input's optional fields in `storedMessage`'s normal form (absent stays absent), written onto
 * `message`: a store that keeps the message itself builds it in one object.
 */
export function setOptionalFields(message: StoredMessage, input: AppendInput): void {
  if (typeof input.ttl === 'number') message.ttl = input.ttl;
  if (typeof input.critical === 'boolean') message.critical = input.critical;
  if (typeof input.collapseKey === 'string') message.collapseKey = input.collapseKey;
  const priority = storedPriorityOf(input.priority);
  if (priority !== null) message.priority = priority;
}

/**
 * The normal form of a stored message: absent optional fields are absent keys (never `undefined`
 * or `null`), so that messages from any engine compare equal with `toStrictEqual`.
 */
export function storedMessage(
  base: Pick<StoredMessage, 'id' | 'type' | 'data' | 'ts' | 'offset'>,
  optional: OptionalFields,
): StoredMessage {
  const message: StoredMessage = { id: base.id, type: base.type, data: base.data, ts: base.ts, offset: base.offset };
  setNonNullFields(message, optional);
  return message;
}

/** The optional fields that are not null, written onto `message` in the normal form's order. */
export function setNonNullFields(message: StoredMessage, optional: OptionalFields): void {
  if (optional.ttl !== null) message.ttl = optional.ttl;
  if (optional.critical !== null) message.critical = optional.critical;
  if (optional.collapseKey !== null) message.collapseKey = optional.collapseKey;
  if (optional.priority !== null) message.priority = optional.priority;
}

export function storeClosedError(engine: string): TetherError {
  return new TetherError(ErrorCode.StoreUnavailable, `the ${engine} store is closed`);
}
