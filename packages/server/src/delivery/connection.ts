import type { Logger } from 'pino';
import {
  ErrorCode,
  TetherError,
  inboxOf,
  type AckFrame,
  type MsgFrame,
  type PubFrame,
  type Position,
  type Positions,
  type ProbeReply,
  type PubReply,
  type RefreshReply,
  type SubReply,
} from '@tether/protocol';
import { contextOf, type AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import type { TokenClaims } from '../auth/verify-token.js';
import type { Expiring, ExpiryTimers } from '../auth/expiry-timers.js';
import type { StoredMessage } from '../store/types.js';
import type { AckLedger } from './ack-ledger.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { ChannelState } from './channel-state.js';
import type { Fanout } from './fanout.js';
import { prefixWithin, type Replayer, type ReplayScan } from './replayer.js';
import { inPriorityOrder, type ReplayPriorityDeps } from './replay-priority.js';
import { recentSurvivors, redeliver } from './redelivery.js';
import type { RelevanceFilter } from './relevance.js';
import type { SlowConsumerGuard } from './slow-consumers.js';
import { SendPacer } from './send-pacer.js';
import { sendMsgFrame } from './encoded-packet.js';
import type { StatsCounter } from './stats.js';
import { Subscription } from './subscription.js';
import { SubscriptionTable } from './subscription-table.js';
import type { PublishDoor } from './publish-door.js';
import { answerPresenceFrame, type PresenceTracker } from '../presence/presence-frames.js';
import { countRefusal } from './refusals.js';
import type { Caller, Guard } from '../guard/guard.js';
import { InvalidFrameBudget } from '../guard/invalid-frames.js';
import { describeEvent } from '../guard/event-parser.js';
import type { ReadReceipts } from '../presence/read-receipts.js';
import { handleReadStateFrame } from '../presence/read-state-frames.js';
import {
  attachListeners,
  detachListeners,
  parseAckFrame,
  parseProbeFrame,
  parsePubFrame,
  parseRefreshFrame,
  parseSubFrame,
  parseUnsubFrame,
  type InboundEvent,
  type TetherSocket,
} from './frame-listeners.js';

export type { InboundEvents, TetherSocket } from './frame-listeners.js';
/** Rounds of "replay, then catch up from the ring" before a resume gives up on a channel that outruns it. */
const MAX_CATCH_UP_ROUNDS = 50;

export interface ConnectionDeps {
  registry: ChannelRegistry;
  /** Where this connection's `pub` frames go (the one publish door). */
  publishDoor: PublishDoor;
  fanout: Fanout;
  replayer: Replayer;
  permissions: Permissions;
  stats: StatsCounter;
  ackLedger: AckLedger;
  log: Logger;
  verifyToken: (token: string) => Promise<TokenClaims>;
  /** How far past `exp` a token is still accepted (`clockSkewSeconds`): a connection's token ends then too. */
  clockSkewSeconds: number;
  maxChannelsPerConnection: number;
  replayBatchSize: number;
  guard: Guard;
  invalidFrames: InvalidFrameBudget;
  /** Cuts this socket when what waits for it passes `maxQueuedBytes`. */
  slowConsumers: SlowConsumerGuard;
  maxQueuedBytes: number;
  /** Bytes of messages per replay batch or redelivery. */
  maxBatchBytes: number;
  /** The server's clock (the `now` option). */
  now: () => number;
  /** Orders a resume's channels by the priority of what they have pending. */
  replayPriority: ReplayPriorityDeps;
  /** Where each connection's token end waits (one timer for the node). */
  expiry: ExpiryTimers;
  /** Called once when the connection has ended (its socket went). */
  stopped: (connection: ClientConnection) => void;
  /** The relevance rules, for redelivery and the ring's part of a resume. */
  relevance: RelevanceFilter;
  /** Read receipts, unread counts and typing (presence/read-state-frames.ts). */
  readReceipts: ReadReceipts;
  presence?: PresenceTracker | undefined; // docs/presence.md; undefined: presence is off
}

/**
 * One live client connection: its subscriptions, its frames, its token's lifetime. Everything it
 * sends through its socket alone is resume traffic or redelivery; live messages reach it only
 * through the channel rooms it joined.
 */
export class ClientConnection implements Expiring {
  private readonly subs = new SubscriptionTable();
  /** Channels whose `sub` is between its limit check and its subscription: they hold a slot (made on first use). */
  private reserved_: Map<string, number> | undefined;
  /** Place of this connection's token end in `deps.expiry` (-1: none). */
  expiryIndex = -1;
  private pacer_: SendPacer | undefined;

  constructor(
    readonly socket: TetherSocket,
    private ctx: AuthContext,
    private readonly deps: ConnectionDeps,
  ) {}

  /** Who is asking, for the guard's logs (made per frame: an idle connection holds no closure for it). */
  private caller(): Caller {
    return { socketId: this.socket.id, tenant: this.ctx.tenant, sub: this.ctx.sub, deviceId: this.ctx.deviceId };
  }

  get context(): AuthContext {
    return this.ctx;
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.subs.values();
  }

  isSubscribed(channel: string): boolean {
    return this.subs.get(channel)?.joined === true;
  }

  /**
   * Wires the frame handlers and resumes the inbox and the handshake's positions; `resumed` is
   * called once every one of them is live or refused (the handshake's work is done).
   */
  start(positions: Positions, resumed: () => void = () => undefined): void {
    // The listeners are shared by every connection (Socket.IO calls them with the socket as `this`):
    // an idle connection holds no closures of its own.
    attachListeners(this.socket, this);
    this.armExpiry();

    const inbox = inboxOf(this.ctx.sub);
    const wanted = new Map<string, Position | undefined>([[inbox, undefined]]);
    for (const [channel, position] of Object.entries(positions)) wanted.set(channel, position);
    // A tier of channels at a time, highest priority pending first (replay-priority.ts).
    void inPriorityOrder(this.deps.replayPriority, this.ctx, wanted, (channel, position) => {
      return new Promise<void>((settle) => {
        const failed = (err: TetherError): void => (this.reject(err, undefined, channel), settle());
        this.deps.guard.run(
          () => this.caller(),
          () => this.subscribe(channel, position),
          () => settle(),
          failed,
        );
      });
    }).then(resumed, resumed);
  }

  /** One of our frames: checked, handled, answered (through its callback when it has one). */
  onFrame(event: InboundEvent, args: unknown[]): void {
    const reply = typeof args.at(-1) === 'function' ? (args.pop() as (r: unknown) => void) : undefined;
    this.deps.guard.run(
      () => this.caller(),
      () => {
        if (args.length > 1) throw new TetherError(ErrorCode.BadRequest, `${event} takes one payload`);
        return this.handle(event, args[0]);
      },
      (result) => reply?.(result ?? {}),
      (err) => this.reject(err, reply),
    );
  }

  /**
   * The common ack, one valid frame and no callback: handled without the guard's closures. A server
   * fault in it is still logged and answered as `guard.run` would.
   */
  onAckFrame(frame: AckFrame): void {
    try {
      this.ack(frame.acks);
    } catch (err) {
      this.reject(this.deps.guard.refuse(err, this.caller()), undefined);
    }
  }

  /** Anything else: an unknown name, or no name at all (`42`, `420`, `42[]`: see guard/event-parser.ts). */
  onOtherEvent(event: unknown, args: unknown[]): void {
    // With no name, the ack callback is the first argument.
    const reply = typeof event === 'function' ? event : args.at(-1);
    this.deps.guard.run(
      () => this.caller(),
      () => {
        throw new TetherError(ErrorCode.BadRequest, describeEvent(event));
      },
      () => undefined,
      (err) => this.reject(err, reply),
    );
  }

  private handle(event: InboundEvent, input: unknown): unknown {
    switch (event) {
      case 'sub': {
        const frame = parseSubFrame(input);
        return this.subscribe(frame.channel, frame.since);
      }
      case 'unsub': {
        const { channel } = parseUnsubFrame(input);
        if (channel === inboxOf(this.ctx.sub)) {
          throw new TetherError(ErrorCode.Forbidden, `the inbox ${channel} is always subscribed`);
        }
        return this.unsubscribe(channel);
      }
      case 'pub':
        return this.publish(parsePubFrame(input));
      case 'ack':
        return this.ack(parseAckFrame(input).acks);
      case 'refresh':
        return this.refresh(parseRefreshFrame(input).token);
      case 'probe': // the server's clock (`now`): the SDK compares `expiresAt` with it
        return { ts: parseProbeFrame(input).ts, serverTs: this.deps.now() } satisfies ProbeReply;
      case 'presence':
      case 'members':
        return answerPresenceFrame(this.deps.presence, this.deps.permissions, event, input, this.socket.id, this.ctx);
      case 'typing':
      case 'read':
      case 'unread':
        return handleReadStateFrame(this.deps.readReceipts, event, input, this);
    }
  }

  /** Answers a failed frame: through its ack callback when it has one, else with an `error` event. */
  private reject(err: TetherError, reply: unknown, channel?: string): void {
    countRefusal(this.deps.stats, err.code);
    const body = err.toJSON();
    if (typeof reply === 'function') (reply as (r: unknown) => void)({ error: body });
    else this.socket.emit('error', channel ? { ...body, channel } : body);
    // Past its budget of invalid frames, the connection is told why and closed.
    if (InvalidFrameBudget.counts(err.code))
      this.deps.invalidFrames.spendOrClose(this.socket, this.deps.log, () => this.caller());
  }

  // ---- subscribe and resume ----------------------------------------------------------------------

  async subscribe(channel: string, since: Position | undefined): Promise<SubReply> {
    const existing = this.subs.get(channel);
    if (existing) {
      // Already live: a `since` asks again for what it missed (a client filling a gap it saw).
      // Live frames keep flowing meanwhile, so this replay may interleave with them.
      if (since && existing.joined) await this.replay(existing, since);
      return this.positionOf(existing.state);
    }
    // The slot is taken before the first await, so concurrent `sub`s cannot overshoot the limit.
    const reserved = (this.reserved_ ??= new Map<string, number>());
    const held = reserved.get(channel) ?? 0;
    if (held === 0 && this.subs.size + reserved.size >= this.deps.maxChannelsPerConnection) {
      throw new TetherError(ErrorCode.TooManyChannels, `at most ${this.deps.maxChannelsPerConnection} channels`);
    }
    reserved.set(channel, held + 1);
    let state: ChannelState;
    try {
      await this.deps.permissions.check(this.ctx, channel, 'subscribe');
      state = await this.deps.registry.get(this.ctx.tenant, channel);
    } finally {
      const left = (reserved.get(channel) ?? 1) - 1;
      if (left > 0) reserved.set(channel, left);
      else reserved.delete(channel);
      if (reserved.size === 0) this.reserved_ = undefined;
    }
    const raced = this.subs.get(channel);
    if (raced) return this.positionOf(raced.state);
    if (!this.socket.connected) throw new TetherError(ErrorCode.BadRequest, 'connection closed');
    const sub = new Subscription(state, since?.offset ?? state.head);
    this.subs.set(sub);
    // A resume position in this life of the log is what the device handled: acks up to it are not new.
    if (since && (since.epoch === undefined || since.epoch === state.epoch)) {
      this.deps.ackLedger.resumed(state.stream, this.ctx.sub, this.ctx.deviceId, Math.min(since.offset, state.head));
    }
    state.subscribers++;
    try {
      await this.resume(sub, since ?? { epoch: state.epoch, offset: state.head });
    } catch (err) {
      if (this.subs.get(channel) === sub) await this.unsubscribe(channel);
      throw err;
    }
    if (this.subs.get(channel) === sub) this.deps.presence?.subscribed(this.socket.id, this.ctx, channel);
    return this.positionOf(state);
  }

  /**
   * Replays what the position missed, then — in one synchronous step — sends what arrived during
   * the replay from the channel's ring and joins the room. Replay never goes past the head the
   * room was sent, and the room carries everything after it, so the client sees each offset once.
   */
  private async resume(sub: Subscription, start: Position): Promise<void> {
    const { state } = sub;
    let position = start;
    for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round++) {
      const needsRead =
        position.offset !== state.head || (position.epoch !== undefined && position.epoch !== state.epoch);
      if (needsRead) {
        position = await this.replay(sub, position);
        if (this.subs.get(state.channel) !== sub || !this.socket.connected) return;
      }
      if (position.epoch !== undefined && position.epoch !== state.epoch) continue;
      const rest = state.recentRange(position.offset, state.head);
      if (!rest) continue; // the channel moved on further than the ring holds: read again
      if (rest.length > 0) {
        // More than one batch: replay it, paced (the last round sends it whole if the queue has room).
        const budget = round < MAX_CATCH_UP_ROUNDS - 1 ? this.deps.maxBatchBytes : Infinity;
        const fits = prefixWithin(rest, budget);
        if (fits.messages.length < rest.length) continue;
        // The static rules only: this step stays synchronous with the join (no hook is awaited).
        const now = this.deps.now();
        const kept = recentSurvivors(this.deps.relevance, this.deps.stats, state, rest, 'replay', now);
        const covers = kept.dropped ? { from: position.offset + 1, upTo: state.head } : undefined;
        const bytes = kept.dropped ? prefixWithin(kept.messages, Infinity).bytes : fits.bytes;
        if (!this.send(state, kept.messages, bytes, covers)) return;
        this.deps.stats.values.delivered.replay += kept.messages.length;
      }
      void this.socket.join(state.room);
      sub.joined = true;
      sub.ackMovedAt = this.deps.now();
      return;
    }
    throw new TetherError(ErrorCode.StoreUnavailable, `could not catch up with ${state.channel}; subscribe again`);
  }

  /**
   * Replays `position+1 ..` the channel's head as it is now, one batch (`replayBatchSize`,
   * `maxBatchBytes`) at a time, each read from the store only once the socket has drained what
   * went before. Resolves the position reached.
   */
  private async replay(sub: Subscription, position: Position): Promise<Position> {
    const target = sub.state.head;
    let from = position;
    let scan: ReplayScan | undefined;
    for (;;) {
      const step = await this.pacer.turn(() => this.replayBatch(sub, from, target, scan));
      if (!step) return from; // the socket went
      if (step.done) return step.position;
      from = step.position;
      scan = step.scan;
    }
  }

  private async replayBatch(
    sub: Subscription,
    position: Position,
    target: number,
    scan: ReplayScan | undefined,
  ): Promise<{ position: Position; done: boolean; scan?: ReplayScan }> {
    const { state } = sub;
    const outcome = await this.deps.replayer.read({
      stream: state.stream,
      position,
      ctx: { tenant: this.ctx.tenant, sub: this.ctx.sub, deviceId: this.ctx.deviceId, channel: state.channel },
      target,
      limit: this.deps.replayBatchSize,
      maxBytes: this.deps.maxBatchBytes,
      ...(scan ? { scan } : {}),
      path: 'replay',
    });
    if (outcome.kind === 'resync') {
      // A store that lost the log shows a new epoch first to whoever reads: adopt it for the channel.
      if (outcome.epoch !== state.epoch) this.deps.fanout.adoptEpoch(state, outcome.epoch, outcome.offset);
      this.socket.emit('resync', { channel: state.channel, epoch: outcome.epoch, offset: outcome.offset });
      this.deps.stats.resync(outcome.reason);
      sub.acked = outcome.offset;
      return { position: { epoch: outcome.epoch, offset: outcome.offset }, done: true };
    }
    const { messages, upTo, epoch, bytes } = outcome;
    if (messages.length > 0 || upTo > position.offset) {
      if (!this.deps.slowConsumers.admit(this, bytes)) return { position, done: true };
      sendMsgFrame(this.socket, { channel: state.channel, epoch, messages, upTo }, state);
    }
    const done = upTo >= target || upTo <= position.offset || this.subs.get(state.channel) !== sub;
    return { position: { epoch, offset: upTo }, done, scan: outcome.scan };
  }

  private get pacer(): SendPacer {
    // Room for one more batch and live traffic under the limit once it has drained this far.
    const below = Math.max(0, this.deps.maxQueuedBytes - 2 * this.deps.maxBatchBytes);
    return (this.pacer_ ??= new SendPacer(this.socket, below));
  }

  private positionOf(state: ChannelState): SubReply {
    return { channel: state.channel, epoch: state.epoch, offset: state.head };
  }

  async unsubscribe(channel: string): Promise<Record<string, never>> {
    const sub = this.subs.get(channel);
    if (sub) {
      this.subs.delete(channel);
      sub.state.subscribers--;
      void this.socket.leave(sub.state.room);
      this.deps.presence?.unsubscribed(this.socket.id, channel);
    }
    return {};
  }

  // ---- publish, ack, refresh ---------------------------------------------------------------------

  private async publish(frame: PubFrame): Promise<PubReply> {
    await this.deps.permissions.check(this.ctx, frame.channel, 'publish');
    const result = await this.deps.publishDoor.publish({ ...frame, tenant: this.ctx.tenant });
    return { offset: result.offset, epoch: result.epoch };
  }

  /** Synchronous and allocation-free: the frame is walked in place, the ledger reached by slot. */
  private ack(acks: AckFrame['acks']): undefined {
    const now = this.deps.now();
    for (const channel in acks) {
      if (!Object.hasOwn(acks, channel)) continue; // as zod's record: own keys only
      const sub = this.subs.get(channel);
      if (!sub) continue; // unsubscribed meanwhile: nothing to redeliver, nothing to count
      const offset = acks[channel] ?? 0;
      sub.ack(offset, now);
      const acked = Math.min(offset, sub.state.head);
      const fresh = this.deps.ackLedger.recordFor(sub, sub.state.stream, this.ctx.sub, this.ctx.deviceId, acked);
      if (fresh > 0) this.deps.stats.observer?.acked(sub.state, acked, fresh, now);
    }
    return undefined;
  }

  private async refresh(token: string): Promise<RefreshReply> {
    const claims = await this.deps.verifyToken(token);
    if (claims.sub !== this.ctx.sub || claims.tenant !== this.ctx.tenant) {
      throw new TetherError(ErrorCode.Forbidden, 'a refreshed token must have the same sub and tenant');
    }
    this.ctx = contextOf(claims, this.ctx.deviceId);
    this.armExpiry();
    await this.dropRefusedSubscriptions();
    return claims.exp === undefined ? {} : { exp: claims.exp };
  }

  /** New claims apply from now on: a subscription they no longer allow ends, with `forbidden`. */
  private async dropRefusedSubscriptions(): Promise<void> {
    for (const channel of this.subs.channels()) {
      try {
        await this.deps.permissions.check(this.ctx, channel, 'subscribe');
      } catch (err) {
        if (!this.subs.has(channel)) continue;
        await this.unsubscribe(channel);
        this.reject(TetherError.from(err), undefined, channel);
      }
    }
  }

  private armExpiry(): void {
    const { exp } = this.ctx;
    if (exp === undefined) return this.deps.expiry.remove(this);
    // A token is accepted up to the clock skew past `exp`; ending it at `exp` would close that at once.
    this.deps.expiry.set(this, (exp + this.deps.clockSkewSeconds) * 1000);
  }

  /** The token's time is up (called by `deps.expiry`). */
  expire(): void {
    this.socket.emit('error', { code: ErrorCode.TokenExpired, message: 'token expired; connect with a fresh one' });
    this.socket.disconnect(true);
  }

  // ---- redelivery (called by the sweeper) --------------------------------------------------------

  /** True while earlier frames still wait to be written to this socket: it cannot have acked them yet. */
  hasBacklog(): boolean {
    return !this.socket.conn.transport.writable;
  }

  /** Sends `after+1 ..` of a subscription to this socket alone, through the relevance rules (redelivery.ts). */
  resend(sub: Subscription, after: number): Promise<number | undefined> {
    return redeliver(this, sub, after, this.deps);
  }

  /**
   * Sends messages to this socket alone, unless they would take its queue over the limit (it is cut
   * then). `covers`: the range they stand for when the relevance rules left some out.
   */
  private send(
    state: ChannelState,
    messages: StoredMessage[],
    bytes: number,
    covers?: { from: number; upTo: number },
  ): boolean {
    if (!this.deps.slowConsumers.admit(this, bytes)) return false;
    const frame: MsgFrame = { channel: state.channel, epoch: state.epoch, messages, ...covers };
    sendMsgFrame(this.socket, frame, state);
    return true;
  }

  /** The socket went: its subscriptions end (called once, on `disconnect`). */
  stop(): void {
    detachListeners(this.socket);
    this.deps.expiry.remove(this);
    this.deps.invalidFrames.forget(this.socket.id);
    for (const sub of this.subs.values()) sub.state.subscribers--;
    this.subs.clear();
    this.deps.stopped(this);
  }
}
