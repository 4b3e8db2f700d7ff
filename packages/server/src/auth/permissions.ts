import { ErrorCode, TetherError, inboxOf } from '@tether/protocol';
import type { AuthContext, AuthorizeHook, ChannelAction } from './context.js';
import { matchesAny } from './glob.js';

/**
 * Claims first, then the app's `authorize` hook. A user may always read its own inbox; nobody may
 * publish to an inbox unless the claims say so.
 */
export class Permissions {
  constructor(private readonly authorize: AuthorizeHook | undefined) {}

  async check(ctx: AuthContext, channel: string, action: ChannelAction): Promise<void> {
    const byClaims =
      action === 'subscribe'
        ? channel === inboxOf(ctx.sub) || matchesAny(ctx.channels, channel)
        : matchesAny(ctx.publish, channel);
    if (!byClaims) throw new TetherError(ErrorCode.Forbidden, `not allowed to ${action} to ${channel}`);
    if (!this.authorize) return;
    let allowed: boolean;
    try {
      allowed = await this.authorize(ctx, channel, action);
    } catch (err) {
      throw new TetherError(ErrorCode.Forbidden, `authorize hook refused ${action} to ${channel}`, { cause: err });
    }
    if (!allowed) throw new TetherError(ErrorCode.Forbidden, `not allowed to ${action} to ${channel}`);
  }
}
