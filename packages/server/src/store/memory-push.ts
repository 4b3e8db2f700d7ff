/** The memory engine's PushStore: maps, lost with the process (like the memory log). */
import type { PushDevice } from '../push/provider.js';
import type { DeviceMatch, PushDue, PushStore } from './push-types.js';

interface Registration {
  device: PushDevice;
  registeredAt: number;
  /** Registration order, to break ties between equal `registeredAt`. */
  seq: number;
}

export class MemoryPushStore implements PushStore {
  /** Targets by `<tenant>\0<sub>`. */
  private readonly devices = new Map<string, Registration[]>();
  /** Claim expiry by key. */
  private readonly claims = new Map<string, number>();
  private readonly queue = new Map<string, PushDue>();
  private seq = 0;

  async registerDevice(device: PushDevice, maxPerUser: number, now: number): Promise<{ evicted: number }> {
    const user = userKey(device.tenant, device.sub);
    const kept = (this.devices.get(user) ?? []).filter(
      (r) =>
        r.device.provider !== device.provider ||
        (r.device.token !== device.token && r.device.deviceId !== device.deviceId),
    );
    kept.push({ device: { ...device }, registeredAt: now, seq: this.seq++ });
    kept.sort(newestFirst);
    const evicted = Math.max(0, kept.length - maxPerUser);
    this.devices.set(user, kept.slice(0, kept.length - evicted));
    return { evicted };
  }

  async unregisterDevices(tenant: string, sub: string, match: DeviceMatch): Promise<number> {
    const user = userKey(tenant, sub);
    const before = this.devices.get(user) ?? [];
    const kept = before.filter((r) => !matches(r.device, match));
    if (kept.length === 0) this.devices.delete(user);
    else this.devices.set(user, kept);
    return before.length - kept.length;
  }

  async devicesOf(tenant: string, sub: string): Promise<PushDevice[]> {
    return (this.devices.get(userKey(tenant, sub)) ?? []).map((r) => ({ ...r.device }));
  }

  async schedule(due: PushDue, claimTtlMs: number, now: number): Promise<boolean> {
    const expires = this.claims.get(due.key);
    if (expires !== undefined && expires > now) return false;
    this.claims.set(due.key, now + claimTtlMs);
    this.queue.set(due.key, copy(due));
    return true;
  }

  async takeDue(now: number, limit: number, leaseUntil: number): Promise<PushDue[]> {
    const due = [...this.queue.values()]
      .filter((d) => d.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit);
    for (const entry of due) entry.dueAt = leaseUntil;
    return due.map(copy);
  }

  async reschedule(due: PushDue): Promise<void> {
    if (this.queue.has(due.key)) this.queue.set(due.key, copy(due));
  }

  async finish(key: string): Promise<void> {
    this.queue.delete(key);
  }

  async pruneClaims(now: number): Promise<number> {
    let removed = 0;
    for (const [key, expires] of this.claims) {
      if (expires <= now) {
        this.claims.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

function userKey(tenant: string, sub: string): string {
  return `${tenant}\u0000${sub}`;
}

function matches(device: PushDevice, match: DeviceMatch): boolean {
  if ('deviceId' in match) return device.deviceId === match.deviceId;
  return device.provider === match.provider && device.token === match.token;
}

function newestFirst(a: Registration, b: Registration): number {
  return b.registeredAt - a.registeredAt || b.seq - a.seq;
}

function copy(due: PushDue): PushDue {
  return { ...due, done: [...due.done] };
}
