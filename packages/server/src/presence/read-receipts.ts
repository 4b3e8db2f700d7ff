/**
 * Read receipts, unread counts and typing (docs/presence.md): what the `read`, `unread` and
 * `typing` frames and `POST /v1/read`, `GET /v1/unread` do, on any node.
 *
 * - A read position is per user (all devices), monotonic and durable (`LogStore.readState`). It is
 *   capped at the channel's head: a client cannot have read what does not exist yet. When it moved,
 *   a `read {channel, sub, offset}` notice goes to the channel's room (its subscribers, for "seen
 *   by") and to the user's inbox room (every device of the user, subscribed to the channel or not,
 *   so a badge clears everywhere) — one broadcast to both rooms, so a socket in both gets it once.
 * - Unread = the channel's head − the read position, never below 0: one `info` per channel, no read
 *   of the log.
 * - Typing is a broadcast to the channel's room, except the sending socket: never stored, never
 *   replayed; it expires on the receiving side (the SDK's `typingExpiryMs`).
 * Notices go through the Socket.IO adapter, so with a cluster every node's sockets get them.
 */
import {
  ErrorCode,
  MAX_UNREAD_CHANNELS,
  TetherError,
  inboxOf,
  type ReadNotice,
  type ReadReply,
  type TypingNotice,
  type UnreadCount,
  type UnreadReply,
} from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import { streamOf } from '../delivery/channel-registry.js';
import type { LogStore } from '../store/types.js';
import type { ReadStateStore } from './types.js';

/** Where notices are broadcast from: the Socket.IO server, or a socket (which is then left out). */
export interface NoticeSender {
  to(room: string | string[]): { emit(event: 'read' | 'typing', notice: ReadNotice | TypingNotice): boolean };
}

export interface ReadReceiptsDeps {
  store: LogStore;
  readState: ReadStateStore;
  permissions: Permissions;
  /** The Socket.IO server (HTTP marks reach the sockets through it). */
  io: NoticeSender;
}

export class ReadReceipts {
  constructor(private readonly deps: ReadReceiptsDeps) {}

  /**
   * Moves the user's read position in `channel` up to `offset` (capped at the head; never down) and
   * tells the channel and the user's devices when it moved. `from`: the socket that asked (left out
   * of the notice: its reply says it), or none for HTTP.
   */
  async markRead(ctx: AuthContext, channel: string, offset: number, from?: NoticeSender): Promise<ReadReply> {
    await this.deps.permissions.check(ctx, channel, 'subscribe');
    const { head } = await this.deps.store.info(streamOf(ctx.tenant, channel));
    const target = Math.min(offset, head);
    const [before] = (await this.deps.readState.readPositions(ctx.tenant, ctx.sub, [channel])).values();
    if (target <= (before ?? 0)) return { offset: before ?? 0 };
    const after = await this.deps.readState.markRead(ctx.tenant, ctx.sub, channel, target);
    // Moved by this call (a concurrent mark further on sends its own notice).
    if (after === target) {
      const notice: ReadNotice = { channel, sub: ctx.sub, offset: after };
      const rooms = [streamOf(ctx.tenant, channel), streamOf(ctx.tenant, inboxOf(ctx.sub))];
      (from ?? this.deps.io).to(rooms).emit('read', notice);
    }
    return { offset: after };
  }

  /**
   * Unread counts of the named channels (each must be readable: else `forbidden`, nothing answered),
   * or of every channel the user has read in (those it may no longer read are left out). `trusted`:
   * asked by the tenant's API key on the user's behalf, no permission check.
   */
  async unread(ctx: AuthContext, channels?: readonly string[], { trusted = false } = {}): Promise<UnreadReply> {
    let positions: Map<string, number>;
    if (channels !== undefined) {
      const named = [...new Set(channels)];
      if (named.length > MAX_UNREAD_CHANNELS) {
        throw new TetherError(ErrorCode.BadRequest, `at most ${MAX_UNREAD_CHANNELS} channels per unread question`);
      }
      if (!trusted) for (const channel of named) await this.deps.permissions.check(ctx, channel, 'subscribe');
      positions = await this.deps.readState.readPositions(ctx.tenant, ctx.sub, named);
    } else {
      positions = new Map();
      const all = await this.deps.readState.readPositions(ctx.tenant, ctx.sub);
      for (const [channel, read] of all) {
        if (positions.size >= MAX_UNREAD_CHANNELS) break;
        if (trusted || (await this.allowed(ctx, channel))) positions.set(channel, read);
      }
    }
    const answer: UnreadReply = { channels: {} };
    for (const [channel, read] of positions) {
      const { head } = await this.deps.store.info(streamOf(ctx.tenant, channel));
      const count: UnreadCount = { head, read, unread: Math.max(0, head - read) };
      answer.channels[channel] = count;
    }
    return answer;
  }

  /** `sub` is typing in `channel`: to the channel's room, except the sending socket. */
  typing(ctx: AuthContext, channel: string, from: NoticeSender): void {
    const notice: TypingNotice = { channel, sub: ctx.sub };
    from.to(streamOf(ctx.tenant, channel)).emit('typing', notice);
  }

  private async allowed(ctx: AuthContext, channel: string): Promise<boolean> {
    try {
      await this.deps.permissions.check(ctx, channel, 'subscribe');
      return true;
    } catch {
      return false;
    }
  }
}

/** The common refusal of a `typing` frame for a channel the connection is not subscribed to. */
export function notSubscribed(channel: string): TetherError {
  return new TetherError(ErrorCode.Forbidden, `typing only in a subscribed channel; not subscribed to ${channel}`);
}
