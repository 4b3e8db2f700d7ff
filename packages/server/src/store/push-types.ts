/**
 * What the push fallback keeps in the store (docs/push.md): the push targets devices registered,
 * one claim per (message, user) so that a push is decided once across nodes and restarts, and the
 * due-queue any node drains. Every engine (memory, sqlite, redis) implements it and passes the
 * push part of the conformance suite (test/store/conformance-push.ts).
 */
import type { PushDevice } from '../push/provider.js';

/** One (message, user) push waiting in the due-queue. */
export interface PushDue {
  /** `<stream>#<epoch>#<offset>#<sub>` (`pushKeyOf`): one claim and one entry per (message, user). */
  key: string;
  tenant: string;
  sub: string;
  channel: string;
  epoch: string;
  offset: number;
  reason: 'unacked' | 'offline';
  /** When it is next due, ms since the epoch (a lease or a retry moves it). */
  dueAt: number;
  /** Attempt rounds made so far. */
  attempts: number;
  /** Targets already settled (sent, failed, gone), by `targetKeyOf`: a retry skips them. */
  done: string[];
}

/** Which registrations `unregisterDevices` removes: one target, or everything of a device. */
export type DeviceMatch = { provider: string; token: string } | { deviceId: string };

export interface PushStore {
  /**
   * Registers (or refreshes) a push target. One row per (tenant, sub, provider, token); a device
   * that registers a new token for the same provider replaces its old one (tokens rotate). Past
   * `maxPerUser` targets for the user, the least recently registered go. Returns how many went.
   */
  registerDevice(device: PushDevice, maxPerUser: number, now: number): Promise<{ evicted: number }>;
  /** Removes the matching targets of the user; returns how many. */
  unregisterDevices(tenant: string, sub: string, match: DeviceMatch): Promise<number>;
  /** The user's targets, most recently registered first. */
  devicesOf(tenant: string, sub: string): Promise<PushDevice[]>;
  /**
   * Claims `due.key` (absent or expired claims only: Redis `SET NX PX`) for `claimTtlMs` and queues
   * the entry, atomically. False when it was already claimed: nothing changed.
   */
  schedule(due: PushDue, claimTtlMs: number, now: number): Promise<boolean>;
  /**
   * Leases up to `limit` entries due at `now`, oldest due first: each becomes due again at
   * `leaseUntil` unless `reschedule` or `finish` comes first (a node that dies mid-push leaves it
   * to another node). Two callers never get the same entry for the same lease.
   */
  takeDue(now: number, limit: number, leaseUntil: number): Promise<PushDue[]>;
  /** Stores a queued entry's new state (a retry's `dueAt`, `attempts`, `done`); no-op when it is gone. */
  reschedule(due: PushDue): Promise<void>;
  /** Removes an entry from the queue for good; its claim stays until it expires. */
  finish(key: string): Promise<void>;
  /** Forgets claims expired at `now` (Redis expires them itself); returns how many. */
  pruneClaims(now: number): Promise<number>;
}

/** The claim and queue key of (message, user). */
export function pushKeyOf(stream: string, epoch: string, offset: number, sub: string): string {
  return `${stream}#${epoch}#${offset}#${sub}`;
}

/** How a target is named in `PushDue.done`: the provider, or the provider and the device's token. */
export function targetKeyOf(provider: string, device: PushDevice | undefined): string {
  return device === undefined ? provider : `${provider}\u0000${device.token}`;
}
