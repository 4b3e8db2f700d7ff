/**
 * The presence options (`presence` in the server options and the config file; docs/presence.md),
 * their defaults and their check. Durations are milliseconds. Presence is off unless `presence` is
 * given: then user status is tracked, and channel presence for the channels its rules name.
 */
import { matchesGlob } from '../auth/glob.js';
import type { PresenceStore } from './types.js';

/** What the `onLastActive` hook is told: the user was active at `at` (ms since the epoch). */
export interface LastActiveContext {
  tenant: string;
  sub: string;
  at: number;
}

export type PresenceMode = 'members' | 'counts';

/** Channel presence for the channels a glob names (`*` any run of characters, as token claims). */
export interface PresenceChannelRule {
  pattern: string;
  /** `members` (who, with join / leave / update) or `counts` (only how many; big channels). Default `members`. */
  mode?: PresenceMode;
}

export interface PresenceOptions {
  /** Channels with channel presence, first match wins. Default none (user status only). */
  channels?: readonly PresenceChannelRule[];
  /** A user's last device gone this long before it leaves its channels and goes offline. Default 10_000. */
  graceMs?: number;
  /** The batching window of a small channel's joins, leaves and updates (one frame per window). Default 50. */
  batchMs?: number;
  /** The window grows by this much per member, so a big channel sends fewer, larger frames. Default 0.2. */
  batchMsPerMember?: number;
  /** The longest batching window. Default 2000. */
  maxBatchMs?: number;
  /** How often a counts-only channel sends its count, at most. Default 1000. */
  countsIntervalMs?: number;
  /** Least time between two `onLastActive` calls (and `lastSeen` writes) for one user. Default 60_000. */
  lastActiveThrottleMs?: number;
  /** Called (throttled per user) when a user is active: persist your `lastActiveAt` here. Errors are logged. */
  onLastActive?: (ctx: LastActiveContext) => void | Promise<void>;
  /** Where devices and memberships live. Default: a memory store (one node). */
  store?: PresenceStore;
}

export interface ResolvedPresenceOptions {
  channels: readonly Required<PresenceChannelRule>[];
  graceMs: number;
  batchMs: number;
  batchMsPerMember: number;
  maxBatchMs: number;
  countsIntervalMs: number;
  lastActiveThrottleMs: number;
  onLastActive: PresenceOptions['onLastActive'];
  store: PresenceStore | undefined;
}

export const presenceDefaults = {
  channels: [] as readonly PresenceChannelRule[],
  graceMs: 10_000,
  batchMs: 50,
  batchMsPerMember: 0.2,
  maxBatchMs: 2000,
  countsIntervalMs: 1000,
  lastActiveThrottleMs: 60_000,
} as const;

const WHOLE = ['graceMs', 'batchMs', 'maxBatchMs', 'countsIntervalMs', 'lastActiveThrottleMs'] as const;

/** Merges over the defaults (undefined: presence off); a TypeError names a bad option. */
export function resolvePresenceOptions(options: PresenceOptions | undefined): ResolvedPresenceOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('presence must be an object');
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PresenceOptions;
  const merged = { ...presenceDefaults, ...defined };
  for (const name of WHOLE) {
    const value = merged[name];
    if (!Number.isInteger(value) || value < 0)
      throw new TypeError(`presence.${name} must be a whole number ≥ 0, got ${value}`);
  }
  if (!(Number.isFinite(merged.batchMsPerMember) && merged.batchMsPerMember >= 0)) {
    throw new TypeError(`presence.batchMsPerMember must be a number ≥ 0, got ${merged.batchMsPerMember}`);
  }
  if (merged.onLastActive !== undefined && typeof merged.onLastActive !== 'function') {
    throw new TypeError('presence.onLastActive must be a function');
  }
  if (!Array.isArray(merged.channels)) throw new TypeError('presence.channels must be a list of { pattern, mode }');
  const channels = merged.channels.map((rule: PresenceChannelRule, i: number) => {
    if (typeof rule?.pattern !== 'string' || rule.pattern === '') {
      throw new TypeError(`presence.channels[${i}].pattern must be a channel glob`);
    }
    const mode = rule.mode ?? 'members';
    if (mode !== 'members' && mode !== 'counts') {
      throw new TypeError(`presence.channels[${i}].mode must be 'members' or 'counts'`);
    }
    return { pattern: rule.pattern, mode };
  });
  return {
    channels,
    graceMs: merged.graceMs,
    batchMs: merged.batchMs,
    batchMsPerMember: merged.batchMsPerMember,
    maxBatchMs: merged.maxBatchMs,
    countsIntervalMs: merged.countsIntervalMs,
    lastActiveThrottleMs: merged.lastActiveThrottleMs,
    onLastActive: merged.onLastActive,
    store: merged.store,
  };
}

/** The channel's presence mode, or undefined when no rule names it (first match wins). */
export function presenceModeOf(options: ResolvedPresenceOptions, channel: string): PresenceMode | undefined {
  for (const rule of options.channels) if (matchesGlob(rule.pattern, channel)) return rule.mode;
  return undefined;
}
