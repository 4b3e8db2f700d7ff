/**
 * The app process's own reads (`TetherServer.history`, `userPresence`, `channelPresence`): what
 * `GET /v1/history` and the presence reads answer, without HTTP and without a permission check —
 * the process that runs Tether is trusted as a tenant-wide API key is. Inputs are checked as the
 * HTTP reads check theirs (`bad_request`, nothing read before they pass).
 */
import { z } from 'zod';
import {
  DEFAULT_TENANT,
  ErrorCode,
  TetherError,
  channelName,
  offsetNumber,
  parseFrame,
  tenantName,
  type ChannelPresenceResponse,
  type HistoryResponse,
  type UserPresenceResponse,
} from '@tether/protocol';
import { readTenantHistory, type HistoryDeps } from './http/history.js';
import { presenceOn, tenantChannelSnapshot } from './presence/presence-frames.js';
import type { PresenceTracker } from './presence/tracker.js';

/** What `history(channel, options)` takes; every field optional. */
export interface HistoryOptions {
  /** Tenant; default `default`. */
  tenant?: string;
  /** Messages before this offset (exclusive); default: from the newest. */
  before?: number;
  /** At most this many (1 to `maxHistoryLimit`); default `maxHistoryLimit`. */
  limit?: number;
  /** Only what the static relevance rules still keep (an edited message's earlier versions left out); default false. */
  relevant?: boolean;
}

/** What the presence reads take. */
export interface PresenceReadOptions {
  /** Tenant; default `default`. */
  tenant?: string;
}

export interface InProcessReads {
  /**
   * A channel's log paged backwards, newest first (`GET /v1/history`): `next` is the `before` of the
   * next older page, null at retention's start. Unfiltered by the relevance rules unless `relevant`.
   */
  history(channel: string, options?: HistoryOptions): Promise<HistoryResponse>;
  /** A user's presence (`GET /v1/presence/users/{sub}`): status, devices, lastSeen. `not_found` when presence is off. */
  userPresence(sub: string, options?: PresenceReadOptions): Promise<UserPresenceResponse>;
  /**
   * A presence channel's members, or only `count` on a counts-only channel
   * (`GET /v1/presence/channels/{channel}`). `not_found` when presence is off or not on that channel.
   */
  channelPresence(channel: string, options?: PresenceReadOptions): Promise<ChannelPresenceResponse>;
}

const historyInput = z.strictObject({
  tenant: tenantName.optional(),
  channel: channelName,
  before: offsetNumber.min(1).optional(),
  limit: offsetNumber.min(1).optional(),
  relevant: z.boolean().optional(),
});
const presenceInput = z.strictObject({ tenant: tenantName.optional() });
const userName = z.string().min(1).max(256);

export function inProcessReads(
  history: Omit<HistoryDeps, 'permissions'>,
  presence: PresenceTracker | undefined,
): InProcessReads {
  return {
    async history(channel, options = {}) {
      const { tenant, ...query } = parseFrame(historyInput, { ...options, channel }, 'history options');
      if (query.limit !== undefined && query.limit > history.maxHistoryLimit) {
        throw new TetherError(
          ErrorCode.BadRequest,
          `invalid history options at limit: at most ${history.maxHistoryLimit}`,
        );
      }
      return readTenantHistory(history, tenant ?? DEFAULT_TENANT, query);
    },
    async userPresence(sub, options = {}) {
      const { tenant } = parseFrame(presenceInput, options, 'presence options');
      parseFrame(userName, sub, 'presence user');
      return presenceOn(presence).userPresence(tenant ?? DEFAULT_TENANT, sub);
    },
    async channelPresence(channel, options = {}) {
      const { tenant } = parseFrame(presenceInput, options, 'presence options');
      parseFrame(channelName, channel, 'presence channel');
      return tenantChannelSnapshot(presenceOn(presence), tenant ?? DEFAULT_TENANT, channel);
    },
  };
}
