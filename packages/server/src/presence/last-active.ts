/**
 * A user's last activity: written to `lastSeen` (the store's ReadStateStore when it has one, else
 * `LocalLastSeen` below) and handed to the app's `onLastActive` hook, at most once per
 * `lastActiveThrottleMs` per user. A failing hook or write is logged, never thrown: presence must
 * not break a connection.
 */
import type { Logger } from 'pino';
import type { LastActiveContext } from './presence-options.js';
import type { ReadStateStore } from './types.js';

/** Where lastSeen is kept: the ReadStateStore's two methods. */
export type LastSeenStore = Pick<ReadStateStore, 'touchLastSeen' | 'lastSeen'>;

/**
 * lastSeen in memory, for a store without a ReadStateStore (`LogStore.readState`): lost with the
 * process, so a restart forgets it (the durable engines keep it; docs/presence.md).
 */
export class LocalLastSeen implements LastSeenStore {
  private readonly seen = new Map<string, number>();

  async touchLastSeen(tenant: string, sub: string, at: number): Promise<void> {
    const key = `${tenant}\0${sub}`;
    if (at > (this.seen.get(key) ?? -Infinity)) this.seen.set(key, at);
  }

  async lastSeen(tenant: string, sub: string): Promise<number | null> {
    return this.seen.get(`${tenant}\0${sub}`) ?? null;
  }
}

export interface LastActiveDeps {
  lastSeen: LastSeenStore;
  throttleMs: number;
  hook: ((ctx: LastActiveContext) => void | Promise<void>) | undefined;
  log: Logger;
  now: () => number;
}

export class LastActive {
  /** When each user was last reported (hook and lastSeen), by `tenant\0sub`. */
  private readonly reported = new Map<string, number>();

  constructor(private readonly deps: LastActiveDeps) {}

  /** The user was active now: reported unless it was within the throttle. */
  active(tenant: string, sub: string): void {
    const at = this.deps.now();
    const key = `${tenant}\0${sub}`;
    const last = this.reported.get(key);
    if (last !== undefined && at - last < this.deps.throttleMs) return;
    this.reported.set(key, at);
    this.report(tenant, sub, at);
  }

  /** The user went offline: its last activity is written now (whatever the throttle), and it is forgotten here. */
  gone(tenant: string, sub: string, at: number): void {
    this.reported.delete(`${tenant}\0${sub}`);
    this.deps.lastSeen
      .touchLastSeen(tenant, sub, at)
      .catch((err: unknown) => this.deps.log.warn({ err, tenant, sub }, 'lastSeen write failed'));
  }

  private report(tenant: string, sub: string, at: number): void {
    const { log, hook } = this.deps;
    this.deps.lastSeen
      .touchLastSeen(tenant, sub, at)
      .catch((err: unknown) => log.warn({ err, tenant, sub }, 'lastSeen write failed'));
    if (!hook) return;
    const failed = (err: unknown): void =>
      log.error({ err, tenant, sub, code: 'internal' }, 'onLastActive hook threw; presence goes on');
    try {
      const result = hook({ tenant, sub, at });
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
