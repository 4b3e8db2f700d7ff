/**
 * The presence, typing and read-state frames (docs/protocol.md, "presence"), as zod schemas and
 * the types inferred from them. Status is per user, aggregated over the user's devices; channel
 * presence counts users (a user's first device joins, the last one leaves), never tabs.
 */
import { z } from 'zod';
import { channelName, offsetNumber } from './frames.js';

/** What one device reports: `busy` is set by hand, the rest the SDK derives from activity. */
export const deviceStatus = z.enum(['online', 'idle', 'away', 'busy']);
export type DeviceStatus = z.infer<typeof deviceStatus>;
/** A user's status over all devices; `offline` once the last device is gone past the grace period. */
export type PresenceStatus = DeviceStatus | 'offline';

/** The most channels one `unread` question may name. */
export const MAX_UNREAD_CHANNELS = 500;

// ---- client → server ---------------------------------------------------------------------------

/**
 * `presence`: the device's status (when it changes) and/or "the user is active now" (`active`,
 * throttled by the SDK). Reply: the user's aggregated status.
 */
export const presenceFrameSchema = z.strictObject({
  status: deviceStatus.optional(),
  active: z.literal(true).optional(),
});
export type PresenceFrame = z.infer<typeof presenceFrameSchema>;
export interface PresenceReply {
  status: PresenceStatus;
}

/** `typing`: "I am typing in this channel" (subscribed channels only; throttled by the SDK). */
export const typingFrameSchema = z.strictObject({ channel: channelName });
export type TypingFrame = z.infer<typeof typingFrameSchema>;

/** `read`: the user read the channel up to `offset` (monotonic: a lower offset changes nothing). */
export const readFrameSchema = z.strictObject({ channel: channelName, offset: offsetNumber.min(1) });
export type ReadFrame = z.infer<typeof readFrameSchema>;
export interface ReadReply {
  /** The user's read position after this call (never lower than before). */
  offset: number;
}

/** `unread`: unread counts for the named channels, or for every channel the user has read in. */
export const unreadFrameSchema = z.strictObject({
  channels: z.array(channelName).max(MAX_UNREAD_CHANNELS).optional(),
});
export type UnreadFrame = z.infer<typeof unreadFrameSchema>;

/** `members`: the channel's presence now (members, or only the count on a counts-only channel). */
export const membersFrameSchema = z.strictObject({ channel: channelName });
export type MembersFrame = z.infer<typeof membersFrameSchema>;

// ---- server → client ---------------------------------------------------------------------------

/** A channel member: one user, however many devices it has there. */
export interface PresenceMember {
  sub: string;
  status: DeviceStatus;
  /** The user's devices subscribed to the channel. */
  devices: number;
}

/**
 * A member as a presence frame carries it: the sub alone for a member `online` on one device (the
 * common case, a quarter of the bytes in a channel of thousands), else the whole member.
 * `presenceMemberOf` reads either; `presenceEntryOf` writes the short form where it can.
 */
export type PresenceMemberEntry = string | PresenceMember;

/**
 * `presence` (server → client): a channel's membership. After a (re)subscribe, first a snapshot
 * (`members`, replacing whatever the client held; on a counts-only channel just `count`), then
 * diffs: the joins, leaves and status updates of one tick in one frame. `count` (users) is on every
 * frame. Entries of `members`, `join` and `update` are `PresenceMemberEntry`s (either form).
 */
export interface PresenceChannelFrame {
  channel: string;
  count: number;
  /** A full snapshot: replaces the member list. */
  members?: PresenceMemberEntry[];
  join?: PresenceMemberEntry[];
  /** Subs whose last device left (after the grace period). */
  leave?: string[];
  update?: PresenceMemberEntry[];
}

/** `typing` (server → client): `sub` is typing in `channel`; it expires by itself (≈ 5 s). */
export interface TypingNotice {
  channel: string;
  sub: string;
}

/** `read` (server → client): `sub` read `channel` up to `offset` (to members and the user's devices). */
export interface ReadNotice {
  channel: string;
  sub: string;
  offset: number;
}

export interface UnreadCount {
  /** The channel's head offset. */
  head: number;
  /** The user's read position (0: never read). */
  read: number;
  /** `head − read`, never below 0. */
  unread: number;
}
export interface UnreadReply {
  channels: Record<string, UnreadCount>;
}

// ---- HTTP --------------------------------------------------------------------------------------

/** `GET /v1/presence/users/{sub}`. */
export interface UserPresenceResponse {
  sub: string;
  status: PresenceStatus;
  devices: { deviceId: string; status: DeviceStatus; lastActiveAt: number }[];
  /** Last activity of any device, ms since the Unix epoch (durable); null if never seen. */
  lastSeen: number | null;
}

/** `GET /v1/presence/channels/{channel}`: members, or only `count` on a counts-only channel. */
export interface ChannelPresenceResponse {
  channel: string;
  count: number;
  members?: PresenceMember[];
}
