/**
 * Dependency-free checks of frames, equal to the zod schemas of frames.ts (a property test holds
 * them to it). The client SDK uses these instead of zod so that its browser bundle stays small; the
 * server keeps zod for what it receives, except the `ack` frame, its most frequent one, and the
 * handshake's `auth`, every connection's first (guards that allocate nothing, with zod kept for the
 * wording of a refusal).
 */
import { CHANNEL_PATTERN } from './names.js';
import type {
  AckFrame,
  Envelope,
  ErrorFrame,
  HandshakeAuth,
  MsgFrame,
  Position,
  PubFrame,
  ResyncFrame,
} from './frames.js';

const MAX_TTL_MS = 366 * 24 * 3600 * 1000;
/** Longest user token accepted anywhere (handshake, `refresh`, the token verifier). */
export const MAX_TOKEN_LENGTH = 8192;
/** The longest `ackWithin` a publish's `push` may ask for: a day. */
export const MAX_ACK_WITHIN_MS = 86_400_000;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only the keys allowed (zod's strictObject). */
function onlyKeys(value: Plain, allowed: readonly string[]): boolean {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) return false;
  return true;
}

function isText(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

function isWhole(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Every slot of an array (holes included, which `every` would skip) passes `check`. */
function isListOf(value: unknown, check: (v: unknown) => boolean): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!check(value[i])) return false;
  return true;
}

function isOptional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

const isChannel = (value: unknown): value is string => typeof value === 'string' && CHANNEL_PATTERN.test(value);
const isEpoch = (value: unknown): value is string => isText(value, 1, 64);
const isOffset = (value: unknown): value is number => isWhole(value, 0, Number.MAX_SAFE_INTEGER);
const isTtl = (value: unknown): boolean => isWhole(value, 1, MAX_TTL_MS);
const isCollapseKey = (value: unknown): boolean => isText(value, 1, 200);
const isPriority = (value: unknown): boolean => value === 'high' || value === 'normal' || value === 'low';

/** Up to 64 offsets (≥ 1). */
const isSupersedes = (value: unknown): boolean =>
  Array.isArray(value) && value.length <= 64 && isListOf(value, (v) => isWhole(v, 1, Number.MAX_SAFE_INTEGER));

const POSITION_KEYS = ['epoch', 'offset'] as const;
const ENVELOPE_KEYS = [
  'id',
  'offset',
  'type',
  'data',
  'ts',
  'ttl',
  'critical',
  'collapseKey',
  'priority',
  'expiresAt',
  'supersedes',
] as const;
const MSG_KEYS = ['channel', 'epoch', 'messages', 'upTo', 'from'] as const;
const RESYNC_KEYS = ['channel', 'epoch', 'offset'] as const;
const PUB_KEYS = ['channel', 'type', 'data', 'ttl', 'critical', 'collapseKey', 'priority', 'push', 'id'] as const;

export function isPosition(value: unknown): value is Position {
  return isPlain(value) && onlyKeys(value, POSITION_KEYS) && isOptional(value.epoch, isEpoch) && isOffset(value.offset);
}

export function isEnvelope(value: unknown): value is Envelope {
  return (
    isPlain(value) &&
    onlyKeys(value, ENVELOPE_KEYS) &&
    isText(value.id, 1, 128) &&
    isWhole(value.offset, 1, Number.MAX_SAFE_INTEGER) &&
    isText(value.type, 1, 100) &&
    'data' in value &&
    typeof value.ts === 'number' &&
    Number.isFinite(value.ts) &&
    isOptional(value.ttl, isTtl) &&
    isOptional(value.critical, (v) => typeof v === 'boolean') &&
    isOptional(value.collapseKey, isCollapseKey) &&
    isOptional(value.priority, isPriority) &&
    isOptional(value.expiresAt, (v) => typeof v === 'number' && Number.isFinite(v)) &&
    isOptional(value.supersedes, isSupersedes)
  );
}

export function isMsgFrame(value: unknown): value is MsgFrame {
  return (
    isPlain(value) &&
    onlyKeys(value, MSG_KEYS) &&
    isChannel(value.channel) &&
    isEpoch(value.epoch) &&
    isListOf(value.messages, isEnvelope) &&
    isOptional(value.upTo, isOffset) &&
    isOptional(value.from, (v) => isWhole(v, 1, Number.MAX_SAFE_INTEGER))
  );
}

export function isResyncFrame(value: unknown): value is ResyncFrame {
  return (
    isPlain(value) &&
    onlyKeys(value, RESYNC_KEYS) &&
    isChannel(value.channel) &&
    isEpoch(value.epoch) &&
    isOffset(value.offset)
  );
}

/** Error frames may grow fields: unknown keys are allowed (as in the zod schema). */
export function isErrorFrame(value: unknown): value is ErrorFrame {
  return (
    isPlain(value) &&
    typeof value.code === 'string' &&
    typeof value.message === 'string' &&
    isOptional(value.channel, (v) => typeof v === 'string')
  );
}

export function isPubFrame(value: unknown): value is PubFrame {
  return (
    isPlain(value) &&
    onlyKeys(value, PUB_KEYS) &&
    isChannel(value.channel) &&
    isText(value.type, 1, 100) &&
    'data' in value &&
    isText(value.id, 1, 128) &&
    isOptional(value.ttl, isTtl) &&
    isOptional(value.critical, (v) => typeof v === 'boolean') &&
    isOptional(value.collapseKey, isCollapseKey) &&
    isOptional(value.priority, isPriority) &&
    isOptional(value.push, isPublishPush)
  );
}

/** `true`, `false` or `{ackWithin: 1…MAX_ACK_WITHIN_MS}`, as `publishPush`. */
function isPublishPush(value: unknown): boolean {
  if (typeof value === 'boolean') return true;
  return isPlain(value) && onlyKeys(value, ['ackWithin']) && isWhole(value.ackWithin, 1, MAX_ACK_WITHIN_MS);
}

const hasOwn = (value: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(value, key);

/** zod's test for a record: an object whose constructor, if any, looks like Object's. */
function isPlainRecord(value: unknown): value is Plain {
  if (!isPlain(value)) return false;
  const ctor: unknown = value.constructor;
  if (typeof ctor !== 'function') return true;
  const proto: unknown = (ctor as { prototype?: unknown }).prototype;
  return typeof proto === 'object' && proto !== null && !Array.isArray(proto) && hasOwn(proto, 'isPrototypeOf');
}

/** Enumerable symbol keys (zod checks them as record keys, and refuses them as channel names). */
function hasEnumerableSymbol(value: object): boolean {
  const symbols = Object.getOwnPropertySymbols(value);
  for (const symbol of symbols) if (Object.prototype.propertyIsEnumerable.call(value, symbol)) return true;
  return false;
}

/**
 * `{ acks: { [channel]: offset } }`, as `ackFrameSchema`: no other key (inherited enumerable ones
 * included, as zod's strictObject counts them), a plain record of channel names (never
 * `__proto__`) to whole offsets. Walks the frame in place: no key array, no copy.
 */
export function isAckFrame(value: unknown): value is AckFrame {
  if (!isPlain(value)) return false;
  for (const key in value) if (key !== 'acks') return false;
  return isChannelRecord(value.acks, isOffset);
}

/**
 * A record of channel names to values passing `check`, as `channelRecord` in frames.ts: a plain
 * record (never an own `__proto__` key, no enumerable symbol), its own keys only. Walks it in place.
 */
function isChannelRecord(record: unknown, check: (value: unknown) => boolean): boolean {
  if (!isPlainRecord(record) || hasOwn(record, '__proto__')) return false;
  for (const channel in record) {
    if (!hasOwn(record, channel)) continue; // inherited: zod's record reads own keys only
    if (!isChannel(channel) || !check(record[channel])) return false;
  }
  return !hasEnumerableSymbol(record);
}

/** A position as `positionSchema` (a strictObject: inherited enumerable keys count, as for zod). */
function isStrictPosition(value: unknown): boolean {
  if (!isPlain(value)) return false;
  for (const key in value) if (key !== 'epoch' && key !== 'offset') return false;
  return isOptional(value.epoch, isEpoch) && isOffset(value.offset);
}

/**
 * The handshake's `auth`, as `handshakeAuthSchema` (other keys allowed, and ignored): every
 * connection's first frame, so checked without zod, in place (the caller reads only these fields).
 */
export function isHandshakeAuth(value: unknown): value is HandshakeAuth {
  return (
    isPlain(value) &&
    isText(value.token, 1, MAX_TOKEN_LENGTH) &&
    isOptional(value.deviceId, (v) => isText(v, 1, 128)) &&
    isOptional(value.positions, (v) => isChannelRecord(v, isStrictPosition))
  );
}
