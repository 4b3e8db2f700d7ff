/**
 * Dependency-free checks of the frames a client receives and keeps, equal to the zod schemas of
 * frames.ts (a property test holds them to it). The client SDK uses these instead of zod so that
 * its browser bundle stays small; the server keeps zod for everything it receives.
 */
import { CHANNEL_PATTERN } from './names.js';
import type { Envelope, ErrorFrame, MsgFrame, Position, PubFrame, ResyncFrame } from './frames.js';

const MAX_TTL_MS = 366 * 24 * 3600 * 1000;

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

const POSITION_KEYS = ['epoch', 'offset'] as const;
const ENVELOPE_KEYS = ['id', 'offset', 'type', 'data', 'ts', 'ttl', 'critical', 'collapseKey'] as const;
const MSG_KEYS = ['channel', 'epoch', 'messages', 'upTo'] as const;
const RESYNC_KEYS = ['channel', 'epoch', 'offset'] as const;
const PUB_KEYS = ['channel', 'type', 'data', 'ttl', 'critical', 'collapseKey', 'id'] as const;

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
    isOptional(value.collapseKey, isCollapseKey)
  );
}

export function isMsgFrame(value: unknown): value is MsgFrame {
  return (
    isPlain(value) &&
    onlyKeys(value, MSG_KEYS) &&
    isChannel(value.channel) &&
    isEpoch(value.epoch) &&
    isListOf(value.messages, isEnvelope) &&
    isOptional(value.upTo, isOffset)
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
    isOptional(value.collapseKey, isCollapseKey)
  );
}
