/**
 * The memory PresenceStore: one node's devices and channel memberships in maps, lost with the
 * process (like the memory log). Every write names its `connId`; a removal by a connection that no
 * longer owns the entry (the device reconnected meanwhile) changes nothing (types.ts).
 */
import type {
  DeviceEntry,
  DeviceStatus,
  MembershipKey,
  PresenceMember,
  PresenceStatus,
  PresenceStore,
  PurgedUser,
  RemoveResult,
  UpsertResult,
} from './types.js';

/** The user's status over its devices: busy if any device is busy, else the most active one. */
export function aggregateStatus(statuses: Iterable<DeviceStatus>): PresenceStatus {
  let best: PresenceStatus = 'offline';
  for (const status of statuses) if (STATUS_RANK[status] > STATUS_RANK[best]) best = status;
  return best;
}

const STATUS_RANK: Readonly<Record<PresenceStatus, number>> = { offline: 0, away: 1, idle: 2, online: 3, busy: 4 };

const keyOf = (tenant: string, name: string): string => `${tenant}\0${name}`;

export class MemoryPresenceStore implements PresenceStore {
  readonly engine = 'memory';
  /** Devices by user (`tenant\0sub`), then by deviceId. */
  private readonly devices = new Map<string, Map<string, DeviceEntry>>();
  /** Memberships by channel (`tenant\0channel`), then by sub, then by deviceId. */
  private readonly channels = new Map<string, Map<string, Map<string, MembershipKey>>>();
  /** Channels by user (`tenant\0sub`), with the user's device count there. */
  private readonly userChannels = new Map<string, Map<string, number>>();

  async upsertDevice(device: DeviceEntry): Promise<UpsertResult> {
    const user = keyOf(device.tenant, device.sub);
    let mine = this.devices.get(user);
    const previous = mine ? aggregateStatus(statusesOf(mine)) : 'offline';
    if (!mine) this.devices.set(user, (mine = new Map()));
    mine.set(device.deviceId, { ...device });
    return { first: previous === 'offline', status: aggregateStatus(statusesOf(mine)), previous };
  }

  async removeDevice(tenant: string, sub: string, deviceId: string, connId: string): Promise<RemoveResult> {
    return this.removeDeviceNow(tenant, sub, deviceId, connId);
  }

  private removeDeviceNow(tenant: string, sub: string, deviceId: string, connId: string): RemoveResult {
    const user = keyOf(tenant, sub);
    const mine = this.devices.get(user);
    const previous = mine ? aggregateStatus(statusesOf(mine)) : 'offline';
    if (!mine || mine.get(deviceId)?.connId !== connId) {
      return { removed: false, last: false, status: previous, previous };
    }
    mine.delete(deviceId);
    if (mine.size === 0) this.devices.delete(user);
    return { removed: true, last: mine.size === 0, status: aggregateStatus(statusesOf(mine)), previous };
  }

  async devicesOf(tenant: string, sub: string): Promise<DeviceEntry[]> {
    return [...(this.devices.get(keyOf(tenant, sub))?.values() ?? [])].map((d) => ({ ...d }));
  }

  async statusOf(tenant: string, sub: string): Promise<PresenceStatus> {
    const mine = this.devices.get(keyOf(tenant, sub));
    return mine ? aggregateStatus(statusesOf(mine)) : 'offline';
  }

  async join(key: MembershipKey): Promise<{ first: boolean }> {
    const channel = keyOf(key.tenant, key.channel);
    let subs = this.channels.get(channel);
    if (!subs) this.channels.set(channel, (subs = new Map()));
    let devices = subs.get(key.sub);
    const first = !devices;
    if (!devices) subs.set(key.sub, (devices = new Map()));
    devices.set(key.deviceId, { ...key });
    this.countUserChannel(key, devices.size);
    return { first };
  }

  async leave(key: MembershipKey): Promise<{ removed: boolean; last: boolean }> {
    return this.leaveNow(key);
  }

  private leaveNow(key: MembershipKey): { removed: boolean; last: boolean } {
    const channel = keyOf(key.tenant, key.channel);
    const subs = this.channels.get(channel);
    const devices = subs?.get(key.sub);
    if (!subs || !devices || devices.get(key.deviceId)?.connId !== key.connId) return { removed: false, last: false };
    devices.delete(key.deviceId);
    this.countUserChannel(key, devices.size);
    if (devices.size > 0) return { removed: true, last: false };
    subs.delete(key.sub);
    if (subs.size === 0) this.channels.delete(channel);
    return { removed: true, last: true };
  }

  async channelsOf(tenant: string, sub: string): Promise<string[]> {
    return [...(this.userChannels.get(keyOf(tenant, sub))?.keys() ?? [])];
  }

  async members(tenant: string, channel: string): Promise<PresenceMember[]> {
    const subs = this.channels.get(keyOf(tenant, channel));
    if (!subs) return [];
    const out: PresenceMember[] = [];
    for (const [sub, devices] of subs) {
      const status = aggregateStatus(statusesOf(this.devices.get(keyOf(tenant, sub)) ?? new Map()));
      // A membership outliving its device entry (never in the tracker's order of writes) reads as online.
      out.push({ sub, status: status === 'offline' ? 'online' : status, devices: devices.size });
    }
    return out;
  }

  async count(tenant: string, channel: string): Promise<number> {
    return this.channels.get(keyOf(tenant, channel))?.size ?? 0;
  }

  /** Synchronous inside: of two concurrent callers, the first takes every entry. */
  async purgeNode(nodeId: string): Promise<PurgedUser[]> {
    const purged = new Map<string, PurgedUser>();
    const touched = (tenant: string, sub: string): PurgedUser => {
      const user = keyOf(tenant, sub);
      let entry = purged.get(user);
      if (!entry) purged.set(user, (entry = { tenant, sub, leftChannels: [], offline: false }));
      return entry;
    };
    for (const subs of this.channels.values()) {
      for (const devices of subs.values()) {
        for (const key of [...devices.values()]) {
          if (key.nodeId !== nodeId) continue;
          const { last } = this.leaveNow(key);
          if (last) touched(key.tenant, key.sub).leftChannels.push(key.channel);
          else touched(key.tenant, key.sub);
        }
      }
    }
    for (const mine of [...this.devices.values()]) {
      for (const device of [...mine.values()]) {
        if (device.nodeId !== nodeId) continue;
        const { last } = this.removeDeviceNow(device.tenant, device.sub, device.deviceId, device.connId);
        touched(device.tenant, device.sub).offline ||= last;
      }
    }
    return [...purged.values()];
  }

  async restore(devices: DeviceEntry[], memberships: MembershipKey[]): Promise<void> {
    for (const device of devices) {
      const mine = this.devices.get(keyOf(device.tenant, device.sub));
      if (!mine?.has(device.deviceId)) await this.upsertDevice(device);
    }
    for (const key of memberships) {
      const there = this.channels.get(keyOf(key.tenant, key.channel))?.get(key.sub)?.has(key.deviceId);
      if (!there) await this.join(key);
    }
  }

  async close(): Promise<void> {
    this.devices.clear();
    this.channels.clear();
    this.userChannels.clear();
  }

  private countUserChannel(key: MembershipKey, devices: number): void {
    const user = keyOf(key.tenant, key.sub);
    let mine = this.userChannels.get(user);
    if (devices === 0) {
      mine?.delete(key.channel);
      if (mine?.size === 0) this.userChannels.delete(user);
      return;
    }
    if (!mine) this.userChannels.set(user, (mine = new Map()));
    mine.set(key.channel, devices);
  }
}

function* statusesOf(devices: ReadonlyMap<string, DeviceEntry>): Iterable<DeviceStatus> {
  for (const device of devices.values()) yield device.status;
}
