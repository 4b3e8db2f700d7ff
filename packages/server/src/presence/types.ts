/**
 * The presence seam (docs/architecture.md §1, "Not built yet"). Presence — per-user status over devices, channel members with
 * join/leave on a user's first join and last leave, ephemeral activity — is its own issue; this is
 * the storage interface its engines (memory, sqlite, redis) will implement, declared now so the
 * delivery core and the stores are shaped for it. Nothing implements it yet.
 */
export type PresenceStatus = 'online' | 'idle' | 'away' | 'busy' | 'offline';

export interface DevicePresence {
  tenant: string;
  sub: string;
  deviceId: string;
  /** The node the device is connected to, so surviving nodes can purge a dead node's entries. */
  nodeId: string;
  status: Exclude<PresenceStatus, 'offline'>;
  /** Last activity, ms since the Unix epoch. */
  lastActiveAt: number;
}

export interface PresenceStore {
  /** Records or refreshes a device; entries expire after `ttlMs` unless refreshed. */
  upsertDevice(device: DevicePresence, ttlMs: number): Promise<void>;
  removeDevice(tenant: string, sub: string, deviceId: string): Promise<void>;
  devicesOf(tenant: string, sub: string): Promise<DevicePresence[]>;
  /** Adds a user's device to a channel; resolves true when it is the user's first device there. */
  join(tenant: string, channel: string, sub: string, deviceId: string): Promise<boolean>;
  /** Removes it; resolves true when it was the user's last device there. */
  leave(tenant: string, channel: string, sub: string, deviceId: string): Promise<boolean>;
  members(tenant: string, channel: string): Promise<string[]>;
  /** Drops every entry of a node that is gone; returns the (tenant, sub) pairs that lost a device. */
  purgeNode(nodeId: string): Promise<{ tenant: string; sub: string }[]>;
  close(): Promise<void>;
}
