/**
 * A channel's joins, leaves and status updates, batched: everything that happened to the channel
 * within one window goes out as ONE `presence` frame to its room. The window grows with the
 * channel's size (`batchMs + members × batchMsPerMember`, at most `maxBatchMs`), so when thousands
 * join, each member gets a frame per window rather than per join: the frames stay about linear in
 * the members, not quadratic. A counts-only channel sends `{channel, count}` at most every
 * `countsIntervalMs`.
 *
 * The store is the truth: a window only records which users were touched and whether they were
 * members before; the flush reads the channel's members once and sends `join` (not there before,
 * there now), `leave` (the reverse) or `update` (there before and after). A user that joined and
 * left within one window sends nothing, and two nodes touching the same user cannot contradict the
 * store.
 *
 * New subscribers of a members channel get their snapshot at the flush of the window that holds
 * their subscription, from that same read: the snapshot is the state the window's diff leads to,
 * so they get the snapshot and not the diff (the broadcast leaves them out), and every later
 * change is in a later window's diff. Their snapshot and the diffs never overlap, and all of one
 * window's subscribers share one snapshot frame (one read, one encoding).
 */
import type { Logger } from 'pino';
import { presenceEntryOf, type PresenceChannelFrame, type PresenceMember } from '@tether/protocol';
import type { PresenceMode, ResolvedPresenceOptions } from './presence-options.js';
import type { PresenceStore } from './types.js';

/** Sends a diff to the channel's room (every node's members), except these sockets of this node. */
export type PresenceBroadcast = (
  tenant: string,
  channel: string,
  frame: PresenceChannelFrame,
  except: readonly string[],
) => void;

/** Sends one snapshot frame to these sockets of this node (encoded once). */
export type SnapshotSend = (socketIds: readonly string[], frame: PresenceChannelFrame) => void;

interface PendingChannel {
  readonly tenant: string;
  readonly channel: string;
  readonly mode: PresenceMode;
  /** Users touched in this window, with whether they were members when first touched. */
  touched: Map<string, boolean>;
  /** Sockets of this node that subscribed in this window: their snapshot goes out at its flush. */
  subscribers: string[];
  timer: NodeJS.Timeout | undefined;
}

export interface ChannelDiffsDeps {
  store: PresenceStore;
  options: Pick<ResolvedPresenceOptions, 'batchMs' | 'batchMsPerMember' | 'maxBatchMs' | 'countsIntervalMs'>;
  broadcast: PresenceBroadcast;
  sendSnapshot: SnapshotSend;
  log: Logger;
  /** Counted per frame sent (the `presenceFrames` stat). */
  sent?: (frame: PresenceChannelFrame) => void;
}

const keyOf = (tenant: string, channel: string): string => `${tenant}\0${channel}`;

export class ChannelDiffs {
  private readonly pending = new Map<string, PendingChannel>();
  /** Members at the last flush, per channel (sizes the next window); gone when it reaches 0. */
  private readonly sizes = new Map<string, number>();
  /** When a counts-only channel last sent, for its throttle. */
  private readonly countsSentAt = new Map<string, number>();
  private closed = false;

  constructor(private readonly deps: ChannelDiffsDeps) {}

  /** The user's first device joined the channel. */
  joined(tenant: string, channel: string, mode: PresenceMode, sub: string): void {
    this.touch(tenant, channel, mode, sub, false);
  }

  /** The user's last device left the channel. */
  left(tenant: string, channel: string, mode: PresenceMode, sub: string): void {
    this.touch(tenant, channel, mode, sub, true);
  }

  /** A socket of this node subscribed to a members channel: its snapshot comes with this window's flush. */
  subscribed(tenant: string, channel: string, connId: string): void {
    if (this.closed) return;
    const p = this.pendingOf(tenant, channel, 'members');
    p.subscribers.push(connId);
    if (p.timer === undefined) this.schedule(keyOf(tenant, channel), p);
  }

  /** The user's status changed (members channels only: a count does not change). */
  updated(tenant: string, channel: string, mode: PresenceMode, sub: string): void {
    if (mode === 'members') this.touch(tenant, channel, mode, sub, true);
  }

  /** The window of a channel of `members` users. */
  windowMs(members: number): number {
    const { batchMs, batchMsPerMember, maxBatchMs } = this.deps.options;
    return Math.min(maxBatchMs, Math.round(batchMs + members * batchMsPerMember));
  }

  /** Stops the timers; what is pending is dropped (the node is going). */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private touch(tenant: string, channel: string, mode: PresenceMode, sub: string, wasMember: boolean): void {
    if (this.closed) return;
    const p = this.pendingOf(tenant, channel, mode);
    if (!p.touched.has(sub)) p.touched.set(sub, wasMember);
    if (p.timer === undefined) this.schedule(keyOf(tenant, channel), p);
  }

  private pendingOf(tenant: string, channel: string, mode: PresenceMode): PendingChannel {
    const key = keyOf(tenant, channel);
    let p = this.pending.get(key);
    if (!p)
      this.pending.set(key, (p = { tenant, channel, mode, touched: new Map(), subscribers: [], timer: undefined }));
    return p;
  }

  private schedule(key: string, p: PendingChannel): void {
    let delay = this.windowMs(this.sizes.get(key) ?? 0);
    if (p.mode === 'counts') {
      const last = this.countsSentAt.get(key);
      const since = last === undefined ? Infinity : performance.now() - last;
      delay = Math.max(delay, this.deps.options.countsIntervalMs - since);
    }
    p.timer = setTimeout(() => void this.flush(key, p), Math.max(0, delay));
    p.timer.unref();
  }

  private async flush(key: string, p: PendingChannel): Promise<void> {
    const { touched, subscribers } = p;
    p.touched = new Map();
    p.subscribers = [];
    p.timer = undefined;
    try {
      let frame: PresenceChannelFrame | undefined;
      if (p.mode === 'counts') frame = await this.countsFrame(p);
      else {
        const members = await this.deps.store.members(p.tenant, p.channel);
        if (this.closed) return;
        if (subscribers.length > 0) {
          // Members in their short wire form: a sub alone for one `online` device (most of them).
          const entries = members.map(presenceEntryOf);
          this.deps.sendSnapshot(subscribers, { channel: p.channel, count: members.length, members: entries });
        }
        frame = diffOf(p.channel, members, touched);
        this.sizes.set(key, members.length);
      }
      if (this.closed) return;
      if (frame) {
        this.sizes.set(key, frame.count);
        if (p.mode === 'counts') this.countsSentAt.set(key, performance.now());
        this.deps.broadcast(p.tenant, p.channel, frame, subscribers);
        this.deps.sent?.(frame);
      }
      if (this.sizes.get(key) === 0) this.sizes.delete(key);
    } catch (err) {
      // The store failed (Redis away): keep what was touched, and who waits, for the next window.
      this.deps.log.warn({ err, channel: p.channel }, 'presence flush failed; retried next window');
      for (const [sub, wasMember] of touched) if (!p.touched.has(sub)) p.touched.set(sub, wasMember);
      p.subscribers.unshift(...subscribers);
    }
    if (p.touched.size > 0 || p.subscribers.length > 0) {
      if (p.timer === undefined && !this.closed) this.schedule(key, p);
    } else if (p.timer === undefined && this.pending.get(key) === p) {
      this.pending.delete(key);
      if (p.mode === 'counts' && !this.sizes.has(key)) this.countsSentAt.delete(key);
    }
  }

  private async countsFrame(p: PendingChannel): Promise<PresenceChannelFrame> {
    return { channel: p.channel, count: await this.deps.store.count(p.tenant, p.channel) };
  }
}

/** The diff of one window: `touched` users (with whether they were members before) against the members now. */
function diffOf(
  channel: string,
  members: readonly PresenceMember[],
  touched: ReadonlyMap<string, boolean>,
): PresenceChannelFrame | undefined {
  if (touched.size === 0) return undefined;
  const bySub = new Map<string, PresenceMember>();
  for (const member of members) if (touched.has(member.sub)) bySub.set(member.sub, member);
  const join: PresenceMember[] = [];
  const leave: string[] = [];
  const update: PresenceMember[] = [];
  for (const [sub, wasMember] of touched) {
    const now = bySub.get(sub);
    if (now && !wasMember) join.push(now);
    else if (now) update.push(now);
    else if (wasMember) leave.push(sub);
  }
  if (join.length + leave.length + update.length === 0) return undefined;
  const frame: PresenceChannelFrame = { channel, count: members.length };
  if (join.length > 0) frame.join = join.map(presenceEntryOf);
  if (leave.length > 0) frame.leave = leave;
  if (update.length > 0) frame.update = update.map(presenceEntryOf);
  return frame;
}
