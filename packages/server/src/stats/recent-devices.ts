/**
 * When each device of a user last left this node, for the trace ("last seen"): bounded to the
 * most recently departed users (the least recently departed go first), a few devices each.
 */
const MAX_USERS = 50_000;
const MAX_DEVICES_PER_USER = 16;

export class RecentDevices {
  /** By user, in order of last departure; each user's devices in order of departure. */
  private readonly users = new Map<string, Map<string, number>>();

  constructor(
    private readonly maxUsers = MAX_USERS,
    private readonly maxDevices = MAX_DEVICES_PER_USER,
  ) {}

  /** A device's connection ended at `at`. */
  left(tenant: string, sub: string, deviceId: string, at: number): void {
    const key = userKey(tenant, sub);
    const devices = this.users.get(key) ?? new Map<string, number>();
    this.users.delete(key);
    this.users.set(key, devices);
    devices.delete(deviceId);
    devices.set(deviceId, at);
    if (devices.size > this.maxDevices) devices.delete(devices.keys().next().value!);
    if (this.users.size > this.maxUsers) this.users.delete(this.users.keys().next().value!);
  }

  /** The user's departed devices with when each left, ms since the Unix epoch. */
  of(tenant: string, sub: string): ReadonlyMap<string, number> {
    return this.users.get(userKey(tenant, sub)) ?? new Map();
  }
}

function userKey(tenant: string, sub: string): string {
  return `${tenant}\u0000${sub}`;
}
