/**
 * The node's presence tracker (docs/presence.md): each connection is one device entry of its user
 * (deviceId from the handshake, connId = the socket id, nodeId = this node); each subscription to
 * a channel with presence is one membership. A user's status aggregates its devices; a user joins
 * a channel with its FIRST device there and leaves with its LAST, and a device that disconnects
 * is removed only `graceMs` later, by its connId: a reload (same deviceId, new connId) has replaced
 * the entries by then, so the late removal finds another owner and nothing is sent.
 *
 * For the cluster's side (the presence-cluster part):
 * - `applyPurged(purged)`: a dead node's users, as `PresenceStore.purgeNode` returned them to this
 *   node (once in the cluster): sends their leaves (batched like any other) and writes lastSeen of
 *   the ones that went offline.
 * - `liveEntries()`: this node's devices and memberships now (those within their grace period too),
 *   for `PresenceStore.restore` when the store came back empty.
 */
import type { Logger } from 'pino';
import type {
  ChannelPresenceResponse,
  DeviceStatus,
  PresenceFrame,
  PresenceReply,
  PresenceStatus,
  UserPresenceResponse,
} from '@tether/protocol';
import { ChannelDiffs, type PresenceBroadcast, type SnapshotSend } from './channel-diffs.js';
import { LastActive, type LastSeenStore } from './last-active.js';
import { presenceModeOf, type PresenceMode, type ResolvedPresenceOptions } from './presence-options.js';
import type { DeviceEntry, MembershipKey, PresenceStore, PurgedUser } from './types.js';

/** Who a connection is, as the tracker needs it. */
export interface PresenceCaller {
  tenant: string;
  sub: string;
  deviceId: string;
}

export type { PresenceBroadcast, SnapshotSend };

interface PendingSnapshots {
  readonly tenant: string;
  readonly channel: string;
  readonly connIds: string[];
}

export interface PresenceTrackerDeps {
  store: PresenceStore;
  options: ResolvedPresenceOptions;
  /** This node's id: the cluster's, or a local one. */
  nodeId: () => string;
  broadcast: PresenceBroadcast;
  sendSnapshot: SnapshotSend;
  lastSeen: LastSeenStore;
  log: Logger;
  now: () => number;
}

export class PresenceTracker {
  /** This node's device entries by connId, live or within their grace period. */
  private readonly devices = new Map<string, DeviceEntry>();
  /** This node's memberships by connId, then channel. */
  private readonly memberships = new Map<string, Map<string, MembershipKey>>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** Each connection's store writes, in order (a removal never overtakes the join it undoes). */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly diffs: ChannelDiffs;
  private readonly lastActive: LastActive;
  /** Subscribers of counts-only channels waiting for their count, by channel: one read serves all of them. */
  private readonly snapshots = new Map<string, PendingSnapshots>();
  private closed = false;

  constructor(private readonly deps: PresenceTrackerDeps) {
    const { store, options, log, now } = deps;
    this.diffs = new ChannelDiffs({ store, options, broadcast: deps.broadcast, sendSnapshot: deps.sendSnapshot, log });
    this.lastActive = new LastActive({
      lastSeen: deps.lastSeen,
      throttleMs: options.lastActiveThrottleMs,
      hook: options.onLastActive,
      log,
      now,
    });
  }

  /** The channel's presence mode, or undefined: no channel presence there. */
  modeOf(channel: string): PresenceMode | undefined {
    return presenceModeOf(this.deps.options, channel);
  }

  /** The window one channel of `members` users batches its diffs over (for docs and benches). */
  windowMs(members: number): number {
    return this.diffs.windowMs(members);
  }

  // ---- a connection's life -------------------------------------------------------------------

  /** A connection opened: its device entry (a reconnecting device keeps the status it had). */
  connected(connId: string, caller: PresenceCaller): void {
    if (this.closed) return;
    const { tenant, sub, deviceId } = caller;
    // Known at once, so a disconnect right after still finds (and later removes) it.
    const entry: DeviceEntry = {
      tenant,
      sub,
      deviceId,
      connId,
      nodeId: this.deps.nodeId(),
      status: 'online',
      lastActiveAt: this.deps.now(),
    };
    this.devices.set(connId, entry);
    this.queue(connId, async () => {
      const before = (await this.deps.store.devicesOf(tenant, sub)).find((d) => d.deviceId === deviceId);
      if (before) entry.status = before.status;
      const result = await this.deps.store.upsertDevice({ ...entry });
      if (!result.first && result.status !== result.previous) await this.statusChanged(tenant, sub);
      this.lastActive.active(tenant, sub);
    });
  }

  /**
   * A subscription began: its membership, then the subscriber's snapshot (members, or the count),
   * always after the `sub` reply. On a members channel the snapshot comes with the flush of the
   * diff window that holds the subscription (channel-diffs.ts: no overlap with the diffs, one frame
   * for all of that window's subscribers); a count waits `batchMs`, shared the same way.
   */
  subscribed(connId: string, caller: PresenceCaller, channel: string): void {
    const mode = this.modeOf(channel);
    if (!mode || this.closed) return;
    const key: MembershipKey = { ...caller, channel, connId, nodeId: this.deps.nodeId() };
    let mine = this.memberships.get(connId);
    if (!mine) this.memberships.set(connId, (mine = new Map()));
    mine.set(channel, key);
    this.queue(connId, async () => {
      const { first } = await this.deps.store.join(key);
      if (first) this.diffs.joined(caller.tenant, channel, mode, caller.sub);
      if (mode === 'members') this.diffs.subscribed(caller.tenant, channel, connId);
      else this.countLater(caller.tenant, channel, connId);
    });
  }

  /** `unsub`: the membership ends now (no grace: the client meant it). */
  unsubscribed(connId: string, channel: string): void {
    const key = this.memberships.get(connId)?.get(channel);
    if (!key) return;
    this.memberships.get(connId)!.delete(channel);
    this.queue(connId, () => this.leave(key));
  }

  /** The connection went: its entries go `graceMs` later, unless a reconnect replaced them by then. */
  disconnected(connId: string): void {
    if (this.closed || !this.devices.has(connId)) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(connId);
      this.queue(connId, () => this.remove(connId));
    }, this.deps.options.graceMs);
    timer.unref();
    this.graceTimers.set(connId, timer);
  }

  /** A `presence` frame: the device's status and/or "active now". Resolves the user's status. */
  async setStatus(connId: string, caller: PresenceCaller, frame: PresenceFrame): Promise<PresenceReply> {
    const entry = this.devices.get(connId);
    if (!entry) return { status: await this.deps.store.statusOf(caller.tenant, caller.sub) };
    return this.serially(connId, async () => {
      if (frame.status !== undefined) entry.status = frame.status;
      if (frame.active) entry.lastActiveAt = this.deps.now();
      const result = await this.deps.store.upsertDevice({ ...entry });
      if (result.status !== result.previous) await this.statusChanged(caller.tenant, caller.sub);
      if (frame.active) this.lastActive.active(caller.tenant, caller.sub);
      return { status: result.status };
    });
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** The channel's presence now: whole members (or only the count on a counts-only channel). */
  async snapshot(tenant: string, channel: string, mode: PresenceMode): Promise<ChannelPresenceResponse> {
    if (mode === 'counts') return { channel, count: await this.deps.store.count(tenant, channel) };
    const members = await this.deps.store.members(tenant, channel);
    return { channel, count: members.length, members };
  }

  async userPresence(tenant: string, sub: string): Promise<UserPresenceResponse> {
    const [devices, lastSeen] = await Promise.all([
      this.deps.store.devicesOf(tenant, sub),
      this.deps.lastSeen.lastSeen(tenant, sub),
    ]);
    let status: PresenceStatus = 'offline';
    const rank: Record<PresenceStatus, number> = { offline: 0, away: 1, idle: 2, online: 3, busy: 4 };
    for (const device of devices) if (rank[device.status] > rank[status]) status = device.status;
    return {
      sub,
      status,
      devices: devices.map((d) => ({ deviceId: d.deviceId, status: d.status, lastActiveAt: d.lastActiveAt })),
      lastSeen,
    };
  }

  /** Channels with presence where the user has a device now. */
  async presenceChannelsOf(tenant: string, sub: string): Promise<string[]> {
    return (await this.deps.store.channelsOf(tenant, sub)).filter((channel) => this.modeOf(channel) !== undefined);
  }

  // ---- the cluster's side (see the file comment) -----------------------------------------------

  applyPurged(purged: PurgedUser[]): void {
    for (const user of purged) {
      for (const channel of user.leftChannels) {
        const mode = this.modeOf(channel);
        if (mode) this.diffs.left(user.tenant, channel, mode, user.sub);
      }
      if (user.offline) this.lastActive.gone(user.tenant, user.sub, this.deps.now());
    }
  }

  /** This node's presence figures for `/v1/stats` (summed over the nodes): devices, memberships, devices in their grace period. */
  counts(): { devices: number; memberships: number; inGrace: number } {
    let memberships = 0;
    for (const mine of this.memberships.values()) memberships += mine.size;
    return { devices: this.devices.size, memberships, inGrace: this.graceTimers.size };
  }

  liveEntries(): { devices: DeviceEntry[]; memberships: MembershipKey[] } {
    const memberships: MembershipKey[] = [];
    for (const mine of this.memberships.values()) for (const key of mine.values()) memberships.push({ ...key });
    return { devices: [...this.devices.values()].map((d) => ({ ...d })), memberships };
  }

  private countLater(tenant: string, channel: string, connId: string): void {
    const key = `${tenant}\0${channel}`;
    const pending = this.snapshots.get(key);
    if (pending) return void pending.connIds.push(connId);
    const batch: PendingSnapshots = { tenant, channel, connIds: [connId] };
    this.snapshots.set(key, batch);
    const timer = setTimeout(() => {
      this.snapshots.delete(key);
      if (this.closed) return;
      this.snapshot(tenant, channel, 'counts').then(
        (frame) => this.deps.sendSnapshot(batch.connIds, frame),
        (err: unknown) => this.deps.log.warn({ err, channel }, 'presence snapshot failed'),
      );
    }, this.deps.options.batchMs);
    timer.unref();
  }

  /** Stops the timers; entries stay in the store (a cluster's survivors purge them with the node's lease). */
  close(): void {
    this.closed = true;
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    this.diffs.close();
  }

  // ---- inside ----------------------------------------------------------------------------------

  private async remove(connId: string): Promise<void> {
    for (const key of this.memberships.get(connId)?.values() ?? []) await this.leave(key);
    this.memberships.delete(connId);
    const entry = this.devices.get(connId);
    this.devices.delete(connId);
    this.chains.delete(connId);
    if (!entry) return;
    const result = await this.deps.store.removeDevice(entry.tenant, entry.sub, entry.deviceId, connId);
    if (!result.removed) return; // the device reconnected meanwhile: nothing happened
    if (result.last) this.lastActive.gone(entry.tenant, entry.sub, entry.lastActiveAt);
    else if (result.status !== result.previous) await this.statusChanged(entry.tenant, entry.sub);
  }

  private async leave(key: MembershipKey): Promise<void> {
    const mode = this.modeOf(key.channel);
    const { removed, last } = await this.deps.store.leave(key);
    if (removed && last && mode) this.diffs.left(key.tenant, key.channel, mode, key.sub);
  }

  /** The user's status changed: an `update` in each of its members channels. */
  private async statusChanged(tenant: string, sub: string): Promise<void> {
    for (const channel of await this.deps.store.channelsOf(tenant, sub)) {
      const mode = this.modeOf(channel);
      if (mode) this.diffs.updated(tenant, channel, mode, sub);
    }
  }

  /** `serially`, not awaited (its failure is logged there). */
  private queue(connId: string, work: () => Promise<unknown>): void {
    this.serially(connId, work).catch(() => undefined);
  }

  /** Runs `work` after the connection's earlier writes; a failure is logged, and the chain goes on. */
  private serially<T>(connId: string, work: () => Promise<T>): Promise<T> {
    const before = this.chains.get(connId) ?? Promise.resolve();
    const run = before.then(work);
    this.chains.set(
      connId,
      run.catch((err: unknown) => this.deps.log.warn({ err, connId }, 'presence write failed')),
    );
    return run;
  }
}

export type { DeviceStatus };
