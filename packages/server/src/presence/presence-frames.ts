/**
 * The two presence frames a connection sends (docs/protocol.md, `presence` and `members`): checked
 * (zod, `bad_request` and nothing changed on a bad one), then answered by the tracker. `members`
 * asks with the permission of subscribing; a channel without presence is `not_found`, and so is
 * either frame on a server without presence.
 */
import {
  ErrorCode,
  TetherError,
  membersFrameSchema,
  parseFrame,
  presenceFrameSchema,
  type ChannelPresenceResponse,
  type PresenceChannelFrame,
  type PresenceReply,
} from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import type { PresenceTracker } from './tracker.js';

export type { PresenceTracker };

export const parsePresenceFrame = (input: unknown): ReturnType<typeof presenceFrameSchema.parse> =>
  parseFrame(presenceFrameSchema, input, 'presence frame');
export const parseMembersFrame = (input: unknown): ReturnType<typeof membersFrameSchema.parse> =>
  parseFrame(membersFrameSchema, input, 'members frame');

export type PresenceEvent = 'presence' | 'members';

/** Answers a connection's `presence` or `members` frame. */
export async function answerPresenceFrame(
  tracker: PresenceTracker | undefined,
  permissions: Permissions,
  event: PresenceEvent,
  input: unknown,
  connId: string,
  ctx: AuthContext,
): Promise<PresenceReply | PresenceChannelFrame> {
  if (event === 'presence') {
    const frame = parsePresenceFrame(input);
    return presenceOn(tracker).setStatus(connId, ctx, frame);
  }
  const { channel } = parseMembersFrame(input);
  return channelSnapshot(presenceOn(tracker), permissions, ctx, channel);
}

/** The channel's presence for a caller who may subscribe to it (the socket's `members`, the HTTP read). */
export async function channelSnapshot(
  tracker: PresenceTracker,
  permissions: Permissions,
  ctx: AuthContext,
  channel: string,
): Promise<ChannelPresenceResponse> {
  await permissions.check(ctx, channel, 'subscribe');
  return tenantChannelSnapshot(tracker, ctx.tenant, channel);
}

/** The channel's presence with no permission check: for a caller already allowed (a tenant's API key, the app's own process). */
export function tenantChannelSnapshot(
  tracker: PresenceTracker,
  tenant: string,
  channel: string,
): Promise<ChannelPresenceResponse> {
  const mode = tracker.modeOf(channel);
  if (!mode) throw new TetherError(ErrorCode.NotFound, `no presence on ${channel}`);
  return tracker.snapshot(tenant, channel, mode);
}

export function presenceOn(tracker: PresenceTracker | undefined): PresenceTracker {
  if (!tracker) throw new TetherError(ErrorCode.NotFound, 'presence is off on this server');
  return tracker;
}
