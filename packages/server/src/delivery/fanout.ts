import type { Server as SocketIOServer } from 'socket.io';
import type { Logger } from 'pino';
import type { LogStore, StoredMessage } from '../store/types.js';
import type { AppendSignal } from './append-signal.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { ChannelState } from './channel-state.js';
import { envelopeJson } from './msg-frame.js';
import type { RelevanceFilter } from './relevance.js';
import { countDrop } from './relevance-counts.js';
import { RoomSender } from './room-sender.js';
import type { BroadcastBytes } from './slow-consumers.js';
import { SupersedeIndex, withSupersedes } from './supersede-index.js';

/** Offsets back that a live message may still name as superseded (about a channel's ring). */
const SUPERSEDE_HORIZON = 1024;
import type { StatsCounter } from './stats.js';

/** Messages appended to one stream in one store call, in offset order. */
export interface AppendedBatch {
  stream: string;
  tenant: string;
  channel: string;
  epoch: string;
  messages: StoredMessage[];
}

/** Carries batches between nodes (the cluster's relay); absent on a single node. */
export interface BatchRelay {
  share(batch: AppendedBatch): void;
  onBatch(handler: (batch: AppendedBatch) => void): void;
}

export interface FanoutDeps {
  store: LogStore;
  registry: ChannelRegistry;
  io: SocketIOServer;
  stats: StatsCounter;
  signal: AppendSignal;
  log: Logger;
  /** Carries batches to and from the other nodes; absent on a single node. */
  relay: BatchRelay | undefined;
  /** Messages per store read when filling a gap (`replayBatchSize`). */
  pageSize: number;
  /** The server's clock (the `now` option). */
  now: () => number;
  /** Most sockets written per event-loop turn by a broadcast to a big room (`broadcastChunkSize`). */
  broadcastChunkSize: number;
  /** Longest a broadcast writes in one event-loop turn before it yields, ms (`broadcastSliceMs`). */
  broadcastSliceMs: number;
  /** The relevance rules: what a batch can decide by itself (expired, superseded within it) is not sent. */
  relevance?: RelevanceFilter;
}

/**
 * Brings appended messages to this node's subscribers of a channel: ONE `msg` frame per batch to
 * the local room, encoded once (room-sender.ts: small rooms in one step, big ones in time slices
 * that yield the loop), in offset order, each offset once. Batches appended here and batches other
 * nodes appended (through the relay) go through the same door, so the channel's head and ring
 * always describe exactly what the room was sent. A batch that arrives ahead of the head (another
 * node's batch still on its way) has its gap read from the store first; a batch at or below the
 * head is already delivered. The common case — contiguous, same epoch — is synchronous.
 */
export class Fanout implements BroadcastBytes {
  /** Channels with ordered async work underway (gap fills, epoch checks); later batches queue behind it. */
  private readonly pending = new Map<ChannelState, Promise<void>>();

  private readonly store: LogStore;
  private readonly registry: ChannelRegistry;
  private readonly io: SocketIOServer;
  private readonly stats: StatsCounter;
  private readonly signal: AppendSignal;
  private readonly log: Logger;
  private readonly relay: BatchRelay | undefined;
  private readonly pageSize: number;
  private readonly now: () => number;
  private readonly sender: RoomSender;
  private readonly relevance: RelevanceFilter | undefined;
  /** Per channel: what its recent messages wait on to be superseded (envelope `supersedes`). */
  private readonly indexes = new WeakMap<ChannelState, SupersedeIndex>();

  constructor(deps: FanoutDeps) {
    this.relevance = deps.relevance;
    this.store = deps.store;
    this.registry = deps.registry;
    this.io = deps.io;
    this.stats = deps.stats;
    this.signal = deps.signal;
    this.log = deps.log;
    this.relay = deps.relay;
    this.pageSize = deps.pageSize;
    this.now = deps.now;
    this.sender = new RoomSender(
      deps.io,
      { chunkSize: deps.broadcastChunkSize, sliceMs: deps.broadcastSliceMs },
      deps.stats,
      deps.now,
    );
    this.relay?.onBatch((batch) => this.fromRemote(batch));
  }

  /** Messages this node appended: delivered here and shared with the other nodes. */
  appended(state: ChannelState, epoch: string, messages: StoredMessage[]): void {
    if (messages.length === 0) return;
    this.stats.values.published += messages.length;
    this.stats.observer?.published(state.channel, messages.length);
    this.offer(state, epoch, messages);
    this.relay?.share({ stream: state.stream, tenant: state.tenant, channel: state.channel, epoch, messages });
  }

  /** Bytes of the frames written to rooms since start, once per frame (the slow-consumer guard's bound). */
  get broadcastBytes(): number {
    return this.sender.broadcastBytes;
  }

  /** Resolves when every queued batch has been delivered or dropped. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()]);
    await this.sender.settled();
  }

  /**
   * The store began a new log for this channel (it lost the old one): everyone subscribed here is
   * told to reload with `resync`, never left with a silent gap. A channel this node never fanned
   * anything out for (head 0: it was unwritten) takes the new life silently from its start, and
   * its room is sent what that life holds up to `head`: nobody here can have missed anything.
   */
  adoptEpoch(state: ChannelState, epoch: string, head: number): void {
    if (state.epoch === epoch) return;
    if (state.head === 0) {
      state.restart(epoch, 0);
      if (head > 0) this.enqueue(state, () => this.catchUp(state, head));
      return;
    }
    this.log.warn({ stream: state.stream, from: state.epoch, to: epoch }, 'channel epoch changed');
    // What is still being written of the old life is dropped: the room is told to reload instead.
    this.sender.cancel(state);
    this.indexes.delete(state);
    state.restart(epoch, head);
    this.io.local.to(state.room).emit('resync', { channel: state.channel, epoch, offset: head });
    this.stats.resync('epoch', this.roomSize(state));
  }

  /**
   * Compares each active channel with the store: catches up a head this node has not seen (a
   * relay batch lost while Redis was away, with nothing published since) and adopts a new epoch
   * (the store lost the log: subscribers get `resync` even if nothing is published again).
   */
  async reconcile(): Promise<void> {
    for (const state of [...this.registry.all()]) {
      if (state.subscribers === 0 || this.pending.has(state)) continue;
      const info = await this.store.info(state.stream);
      if (info.epoch !== state.epoch) this.adoptEpoch(state, info.epoch, info.head);
      else if (info.head > state.head) this.enqueue(state, () => this.catchUp(state, info.head));
    }
  }

  private async catchUp(state: ChannelState, upTo: number): Promise<void> {
    const epoch = state.epoch;
    const gap = await this.readGap(state, upTo);
    if (state.epoch === epoch) this.deliver(state, gap);
  }

  private fromRemote(batch: AppendedBatch): void {
    const first = batch.messages[0];
    if (first) this.stats.observer?.relayed(this.now() - first.ts);
    const state = this.registry.peek(batch.stream);
    if (state) return this.offer(state, batch.epoch, batch.messages);
    // Not active here — unless its state is being created right now: then the batch may be newer
    // than the head that creation read, so apply it once the state exists.
    const creating = this.registry.creation(batch.stream);
    if (creating) void creating.then((created) => this.offer(created, batch.epoch, batch.messages));
    // No socket here to send it to, but a long-poll on this node may be waiting for it.
    else this.signal.notify(batch.stream);
  }

  private offer(state: ChannelState, epoch: string, messages: StoredMessage[]): void {
    const chain = this.pending.get(state);
    if (!chain && epoch === state.epoch && (messages[0]?.offset ?? 0) <= state.head + 1) {
      this.deliver(state, messages);
      return;
    }
    this.enqueue(state, () => this.deliverInOrder(state, epoch, messages));
  }

  /** Runs `work` after the channel's queued work, in order. */
  private enqueue(state: ChannelState, work: () => Promise<void>): void {
    const next = (this.pending.get(state) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.log.error({ err, stream: state.stream }, 'fan-out gap fill failed'))
      .finally(() => {
        if (this.pending.get(state) === next) this.pending.delete(state);
      });
    this.pending.set(state, next);
  }

  private async deliverInOrder(state: ChannelState, epoch: string, messages: StoredMessage[]): Promise<void> {
    const first = messages[0];
    if (!first) return;
    if (epoch !== state.epoch) {
      // Which life is current? The store says. A batch of a dead epoch is dropped.
      const info = await this.store.info(state.stream);
      if (info.epoch !== epoch) return;
      this.adoptEpoch(state, epoch, first.offset - 1);
    }
    let gap: StoredMessage[] = [];
    if (first.offset > state.head + 1) gap = await this.readGap(state, first.offset - 1);
    if (epoch !== state.epoch) return; // the epoch moved on while reading
    this.deliver(state, [...gap, ...messages]);
  }

  /** Reads `head+1 .. upTo` from the store (what other nodes appended and this node has not seen yet). */
  private async readGap(state: ChannelState, upTo: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let after = state.head;
    while (after < upTo) {
      const page = await this.store.read(state.stream, after, Math.min(this.pageSize, upTo - after));
      if (page.epoch !== state.epoch) return [];
      const last = page.messages.at(-1);
      if (!last) break; // retention moved past it: the subscribers' redelivery/resume paths account for it
      for (const m of page.messages) if (m.offset <= upTo) out.push(m);
      after = last.offset;
    }
    return out;
  }

  /**
   * The one place a batch reaches the room: drops what the room already had, records the rest in
   * the ring (without the envelope's text: see below) and hands it to the room sender, which
   * writes one frame (or queues it behind the channel's broadcast still being written). What the
   * relevance rules drop by the batch alone (expired already: a gap read, a late relay batch; or
   * superseded by a later message of the batch) is recorded in the ring but not sent: the frame
   * then carries `from`/`upTo`, so the room's clients move past it (counted once, path `live`).
   */
  private deliver(state: ChannelState, messages: readonly StoredMessage[]): void {
    // In offset order: when the first is new, all are (no copy on the common path).
    const fresh = (messages[0]?.offset ?? 0) > state.head ? messages : messages.filter((m) => m.offset > state.head);
    if (fresh.length === 0) return;
    const now = this.now();
    // Nobody here to spare a stale message: nothing to decide, nothing to count.
    const members = this.roomSize(state);
    const drops = members > 0 ? this.relevance?.liveDrops(fresh, state.channel, now) : undefined;
    const kept: StoredMessage[] | undefined = drops ? [] : undefined; // what is sent, when the rules dropped some
    const envelopes: string[] = [];
    for (const message of fresh) {
      const reason = drops?.get(message.offset);
      if (reason) {
        state.record(message, now);
        countDrop(this.stats, 'live', reason);
        continue;
      }
      // The ring does not keep this text: kept, it would survive (be copied by the scavenger and
      // promoted) for every message, while most are never sent again; a replay or redelivery
      // encodes the plain envelope once and the ring keeps that (ChannelState.envelopeJsonOf).
      // The live frame names what the message supersedes.
      const json = envelopeJson(message);
      state.record(message, now);
      if (members > 0) this.stats.observer?.sent(now - message.ts);
      envelopes.push(this.annotated(state, message, json));
      kept?.push(message);
    }
    const range = drops ? { from: fresh[0]!.offset, upTo: fresh.at(-1)!.offset } : undefined;
    this.sender.send(state, kept ?? fresh, envelopes, range);
    this.signal.notify(state.stream);
  }

  /** The envelope with `supersedes` when the message makes earlier recent ones irrelevant. */
  private annotated(state: ChannelState, message: StoredMessage, json: string): string {
    const relevance = this.relevance;
    if (!relevance?.mayMakeIrrelevant(message)) return json;
    let index = this.indexes.get(state);
    if (!index) this.indexes.set(state, (index = new SupersedeIndex(SUPERSEDE_HORIZON)));
    const keys = relevance.laterKeys(relevance.traitsOf(message, state.channel));
    const supersedes = index.note(message.offset, keys);
    return supersedes ? withSupersedes(json, supersedes) : json;
  }

  private roomSize(state: ChannelState): number {
    return this.io.sockets.adapter.rooms.get(state.room)?.size ?? 0;
  }
}
