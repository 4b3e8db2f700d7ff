/**
 * Dependency-free checks of the presence frames the server sends (as guards.ts for the others), so
 * the client SDK validates them without zod.
 */
import { CHANNEL_PATTERN } from './names.js';
import type {
  PresenceChannelFrame,
  PresenceMember,
  PresenceMemberEntry,
  ReadNotice,
  TypingNotice,
} from './presence.js';

type Plain = Record<string, unknown>;

const isPlain = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const onlyKeys = (value: Plain, allowed: readonly string[]): boolean =>
  Object.keys(value).every((key) => allowed.includes(key));
const isChannel = (value: unknown): value is string => typeof value === 'string' && CHANNEL_PATTERN.test(value);
const isSub = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= 256;
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER;
const isListOf = (value: unknown, check: (v: unknown) => boolean): boolean => {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!check(value[i])) return false;
  return true;
};
const isOptional = (value: unknown, check: (v: unknown) => boolean): boolean => value === undefined || check(value);

export const DEVICE_STATUSES = ['online', 'idle', 'away', 'busy'] as const;
export const isDeviceStatus = (value: unknown): value is PresenceMember['status'] =>
  typeof value === 'string' && (DEVICE_STATUSES as readonly string[]).includes(value);

export function isPresenceMember(value: unknown): value is PresenceMember {
  return (
    isPlain(value) &&
    onlyKeys(value, ['sub', 'status', 'devices']) &&
    isSub(value.sub) &&
    isDeviceStatus(value.status) &&
    isCount(value.devices)
  );
}

/** A member in either wire form: a sub alone (`online`, one device) or the whole member. */
export const isPresenceMemberEntry = (value: unknown): value is PresenceMemberEntry =>
  isSub(value) || isPresenceMember(value);

export function isPresenceChannelFrame(value: unknown): value is PresenceChannelFrame {
  return (
    isPlain(value) &&
    onlyKeys(value, ['channel', 'count', 'members', 'join', 'leave', 'update']) &&
    isChannel(value.channel) &&
    isCount(value.count) &&
    isOptional(value.members, (v) => isListOf(v, isPresenceMemberEntry)) &&
    isOptional(value.join, (v) => isListOf(v, isPresenceMemberEntry)) &&
    isOptional(value.leave, (v) => isListOf(v, isSub)) &&
    isOptional(value.update, (v) => isListOf(v, isPresenceMemberEntry))
  );
}

/** The member an entry stands for (a sub alone: `online` on one device). */
export function presenceMemberOf(entry: PresenceMemberEntry): PresenceMember {
  return typeof entry === 'string' ? { sub: entry, status: 'online', devices: 1 } : { ...entry };
}

/** A member's entry on the wire: the sub alone when it is `online` on one device, else the member. */
export function presenceEntryOf(member: PresenceMember): PresenceMemberEntry {
  return member.status === 'online' && member.devices === 1 ? member.sub : member;
}

export function isTypingNotice(value: unknown): value is TypingNotice {
  return isPlain(value) && onlyKeys(value, ['channel', 'sub']) && isChannel(value.channel) && isSub(value.sub);
}

export function isReadNotice(value: unknown): value is ReadNotice {
  return (
    isPlain(value) &&
    onlyKeys(value, ['channel', 'sub', 'offset']) &&
    isChannel(value.channel) &&
    isSub(value.sub) &&
    isCount(value.offset) &&
    value.offset >= 1
  );
}
