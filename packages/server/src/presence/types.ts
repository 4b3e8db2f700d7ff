/**
 * The presence seams (docs/presence.md). Two kinds of state, kept apart on purpose:
 * - `PresenceStore`: who is connected now — devices and channel memberships. Ephemeral: entries are
 *   owned by the node the device is connected to and go when that node goes (its lease expires and
 *   one survivor purges them). Engines: memory (one node), Redis (a cluster).
 * - `ReadStateStore`: what must survive a restart — read positions per user and channel, and each
 *   user's `lastSeen`. Durable, in the log store's own engine (`LogStore.readState`).
 *
 * Every write names the connection (`connId`) it comes from: a device that reconnected elsewhere
 * replaced its entry with a new `connId`, so the old connection's late removal (after the grace
 * period) finds a different owner and changes nothing. That is what keeps a reload from flapping.
 */
import type { DeviceStatus, PresenceMember, PresenceStatus } from '@tether/protocol';

export type { DeviceStatus, PresenceMember, PresenceStatus };

/** One connected device of a user. */
export interface DeviceEntry {
  tenant: string;
  sub: string;
  deviceId: string;
  /** The connection that owns the entry (a reconnect replaces it). */
  connId: string;
  /** The node the device is connected to, so surviving nodes can purge a dead node's entries. */
  nodeId: string;
  status: DeviceStatus;
  /** Last activity, ms since the Unix epoch. */
  lastActiveAt: number;
}

/** A channel membership of one device. */
export interface MembershipKey {
  tenant: string;
  channel: string;
  sub: string;
  deviceId: string;
  connId: string;
  nodeId: string;
}

export interface UpsertResult {
  /** The user had no device before: it came online. */
  first: boolean;
  /** The user's status over all devices after the write. */
  status: PresenceStatus;
  /** ...and before it (`offline` when `first`). */
  previous: PresenceStatus;
}

export interface RemoveResult {
  /** The entry was there and owned by this `connId` (false: replaced by a reconnect, or gone). */
  removed: boolean;
  /** It was the user's last device (there: the channel's; here: anywhere). */
  last: boolean;
  status: PresenceStatus;
  previous: PresenceStatus;
}

/** A user that lost memberships or devices when a node was purged. */
export interface PurgedUser {
  tenant: string;
  sub: string;
  /** Channels where the user has no device left (each one `leave` to send). */
  leftChannels: string[];
  /** No device left anywhere: the user went offline. */
  offline: boolean;
}

export interface PresenceStore {
  readonly engine: string;
  /** Records or refreshes a device (status, activity); replaces an entry of another `connId`. */
  upsertDevice(device: DeviceEntry): Promise<UpsertResult>;
  /** Removes the device if `connId` still owns it. */
  removeDevice(tenant: string, sub: string, deviceId: string, connId: string): Promise<RemoveResult>;
  devicesOf(tenant: string, sub: string): Promise<DeviceEntry[]>;
  /** The user's status over its devices (`offline` with none): busy if any device is busy, else the most active. */
  statusOf(tenant: string, sub: string): Promise<PresenceStatus>;
  /** Adds a device to a channel; `first` when it is the user's first device there. */
  join(key: MembershipKey): Promise<{ first: boolean }>;
  /** Removes it if `connId` still owns it; `last` when it was the user's last device there. */
  leave(key: MembershipKey): Promise<{ removed: boolean; last: boolean }>;
  /** The channels where the user has at least one device (for status updates). */
  channelsOf(tenant: string, sub: string): Promise<string[]>;
  members(tenant: string, channel: string): Promise<PresenceMember[]>;
  /** Users (not devices) in the channel. */
  count(tenant: string, channel: string): Promise<number>;
  /**
   * Drops every entry of a node that is gone, once: of several survivors calling it, exactly one
   * gets the users back (the others get `[]`), so every leave is sent once.
   */
  purgeNode(nodeId: string): Promise<PurgedUser[]>;
  /**
   * Writes a node's live entries back without events (the Redis it lives in restarted empty):
   * devices and memberships that are already there are left as they are.
   */
  restore(devices: DeviceEntry[], memberships: MembershipKey[]): Promise<void>;
  close(): Promise<void>;
}

/** Durable per-user state: read positions and lastSeen (memory, sqlite, redis: `LogStore.readState`). */
export interface ReadStateStore {
  /** Moves the user's read position in the channel up to `offset` (never down); resolves the position after. */
  markRead(tenant: string, sub: string, channel: string, offset: number): Promise<number>;
  /** Read positions of the user: for the named channels (0 where never read), or every channel it has read in. */
  readPositions(tenant: string, sub: string, channels?: readonly string[]): Promise<Map<string, number>>;
  /** Records the user's last activity (never moves back). */
  touchLastSeen(tenant: string, sub: string, at: number): Promise<void>;
  lastSeen(tenant: string, sub: string): Promise<number | null>;
}
