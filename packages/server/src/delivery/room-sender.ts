import { performance } from 'node:perf_hooks';
import type { Namespace, Server as SocketIOServer, Socket } from 'socket.io';
import type { StoredMessage } from '../store/types.js';
import type { ChannelState } from './channel-state.js';
import { EncodedPacket } from './encoded-packet.js';
import { envelopesOf, msgPacketText } from './msg-frame.js';
import type { StatsCounter } from './stats.js';

/** One batch recorded in a channel's ring and queued behind the channel's running broadcast. */
interface QueuedBatch {
  /** Order of recording within the broadcast (1, 2, …). */
  seq: number;
  /** First and last offset of the batch. */
  first: number;
  last: number;
  channel: string;
  epoch: string;
  envelopes: string[];
  /** The relevance rules dropped some of `first ..= last`: the frame says which range it covers. */
  skipped: boolean;
}

/** A channel's broadcast to a room bigger than one chunk, written over several event-loop turns. */
interface Broadcast {
  readonly state: ChannelState;
  readonly room: string;
  /** Batches recorded but not yet begun; taken together (one frame) when the current round ends. */
  readonly queue: QueuedBatch[];
  /**
   * Sockets that joined the room while this broadcast ran, with the `seq` of the last batch recorded
   * then: their resume sent them the ring up to the head, so they get only later batches.
   */
  readonly joined: Map<string, number>;
  /** `seq` of the last batch recorded. */
  seq: number;
  cancelled: boolean;
  done: Promise<void>;
}

/** What Socket.IO's in-memory adapter (and the cluster adapters built on it) offers here. */
interface RoomAdapter {
  rooms: Map<string, Set<string>>;
  on(event: 'join-room', listener: (room: string, id: string) => void): unknown;
}

/**
 * Writes a channel's `msg` frames to its local room, encoded once per frame (msg-frame.ts) and
 * written pre-encoded to each member's Engine.IO socket (encoded-packet.ts), without the adapter's
 * per-broadcast machinery: a room of one (an inbox on one device) is one write.
 *
 * A bigger room is written in slices, one per event-loop turn: each slice writes until `sliceMs`
 * have passed (or `chunkSize` sockets were written), then yields. A slice bounded by time rather
 * than by count lets a room that is written fast go out in one or two turns (every yield lets the
 * acks and other I/O queued meanwhile run before the rest of the room is written, which is what
 * the p50 pays for), while a broadcast to 10,000 slow sockets still never holds the loop for more
 * than a slice. What keeps the channel's promise —
 * everyone in the room has been sent, or is being sent, up to the channel's head:
 * - the batch is recorded in the ring (and the head moved) before this is called, and its round
 *   writes to a snapshot of the room's members taken in that same synchronous step;
 * - batches recorded while a broadcast runs queue behind it and go out together, in order, as the
 *   next round (to the members at that round's start): nothing overtakes a running broadcast;
 * - a socket that joins the room meanwhile was sent the ring up to the head by its resume (in the
 *   same synchronous step as its join): it is marked, and gets only batches recorded after it joined;
 * - a socket that left the room or disconnected before its chunk is skipped.
 */
export class RoomSender {
  private readonly running = new Map<string, Broadcast>();
  private watched: RoomAdapter | undefined;
  /** Most sockets written per event-loop turn (`broadcastChunkSize`). */
  private readonly chunkSize: number;
  /** Longest a slice writes before it yields, ms (`broadcastSliceMs`). */
  private readonly sliceMs: number;
  /** Bytes of the frames written to rooms, once per frame (the slow-consumer guard's bound). */
  broadcastBytes = 0;

  constructor(
    private readonly io: SocketIOServer,
    limits: { chunkSize: number; sliceMs: number },
    private readonly stats: StatsCounter,
    /** The server's clock (the `now` option). */
    private readonly now: () => number,
  ) {
    this.chunkSize = Math.max(1, Math.floor(limits.chunkSize));
    this.sliceMs = Math.max(0, limits.sliceMs);
  }

  /**
   * Sends `messages`, just recorded in `state`'s ring, to the channel's room; `envelopes` are their
   * texts (`envelopeJson`), looked up in the ring when not given. `range`: the offsets the batch
   * covers when the relevance rules left some of them out (the frame then carries `from`/`upTo`).
   */
  send(
    state: ChannelState,
    messages: readonly StoredMessage[],
    envelopes = envelopesOf(messages, state),
    range?: { from: number; upTo: number },
  ): void {
    const batch = {
      first: range?.from ?? messages[0]?.offset ?? 0,
      last: range?.upTo ?? messages.at(-1)?.offset ?? 0,
      channel: state.channel,
      epoch: state.epoch,
      envelopes,
      skipped: range !== undefined,
    };
    const running = this.running.get(state.room);
    if (running) {
      running.queue.push({ seq: ++running.seq, ...batch });
      return;
    }
    const adapter = this.adapter();
    const members = adapter.rooms.get(state.room);
    if (!members || members.size === 0) return;
    const nsp = this.io.sockets;
    if (members.size <= SMALL_ROOM && members.size <= this.chunkSize) {
      const packet = new EncodedPacket(msgPacketText(nsp.name, frameOf([batch]), envelopes));
      let written = 0;
      for (const id of members) {
        const socket = nsp.sockets.get(id);
        if (socket && packet.writeTo(socket)) written++;
      }
      this.broadcastBytes += packet.bytes;
      this.stats.values.delivered.live += written * messages.length;
      return;
    }
    const broadcast: Broadcast = {
      state,
      room: state.room,
      queue: [{ seq: 1, ...batch }],
      joined: new Map(),
      seq: 1,
      cancelled: false,
      done: Promise.resolve(),
    };
    this.running.set(state.room, broadcast);
    // The first chunk is written now, in this synchronous step.
    broadcast.done = this.run(broadcast, nsp);
  }

  /** True while a chunked broadcast of this channel is being written. */
  busy(state: ChannelState): boolean {
    return this.running.has(state.room);
  }

  /** Drops what is left of the channel's broadcast (its epoch ended: the room is told `resync`). */
  cancel(state: ChannelState): void {
    const running = this.running.get(state.room);
    if (!running) return;
    running.cancelled = true;
    this.running.delete(state.room);
  }

  /** Resolves when every running broadcast has been written or dropped. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((b) => b.done));
  }

  private async run(broadcast: Broadcast, nsp: Namespace): Promise<void> {
    let first = true;
    try {
      while (broadcast.queue.length > 0) {
        const round = takeRound(broadcast.queue);
        const packet = new EncodedPacket(
          msgPacketText(
            nsp.name,
            frameOf(round),
            round.flatMap((b) => b.envelopes),
          ),
        );
        const count = round.reduce((sum, b) => sum + b.envelopes.length, 0);
        const members = [...(this.adapter().rooms.get(broadcast.room) ?? [])];
        let next = 0;
        while (next < members.length) {
          if (!first) {
            await nextTurn();
            if (broadcast.cancelled) return;
          }
          first = false;
          const room = this.adapter().rooms.get(broadcast.room);
          if (!room) break; // everyone left
          const started = performance.now();
          const end = Math.min(members.length, next + this.chunkSize);
          while (next < end) {
            const id = members[next++]!;
            if (!room.has(id)) continue; // left or disconnected meanwhile
            const socket = nsp.sockets.get(id);
            if (!socket) continue;
            const joinedAt = broadcast.joined.get(id);
            if (joinedAt === undefined) {
              if (packet.writeTo(socket)) this.stats.values.delivered.live += count;
            } else this.writeAfterJoin(socket, nsp, round, joinedAt);
            if (performance.now() - started >= this.sliceMs) break;
          }
        }
        this.broadcastBytes += packet.bytes;
        // Redelivery judges acks from the send time: it is when the last member was written.
        broadcast.state.markSent(round[0]!.first, round.at(-1)!.last, this.now());
      }
    } finally {
      if (this.running.get(broadcast.room) === broadcast) this.running.delete(broadcast.room);
    }
  }

  /** A socket that joined during the broadcast: only the batches recorded after it joined. */
  private writeAfterJoin(socket: Socket, nsp: Namespace, round: readonly QueuedBatch[], joinedAt: number): void {
    const later = round.filter((b) => b.seq > joinedAt);
    if (later.length === 0) return;
    const envelopes = later.flatMap((b) => b.envelopes);
    const packet = new EncodedPacket(msgPacketText(nsp.name, frameOf(later), envelopes));
    if (packet.writeTo(socket)) this.stats.values.delivered.live += envelopes.length;
    this.broadcastBytes += packet.bytes;
  }

  /** The namespace's adapter now (a cluster replaces it at start), watched for joins. */
  private adapter(): RoomAdapter {
    const adapter = this.io.sockets.adapter as unknown as RoomAdapter;
    if (adapter !== this.watched) {
      this.watched = adapter;
      adapter.on('join-room', (room, id) => {
        const running = this.running.get(room);
        if (running) running.joined.set(id, running.seq);
      });
    }
    return adapter;
  }
}

/**
 * A room up to this size is written in one synchronous step without the broadcast bookkeeping
 * (an inbox on one device is one write; 32 socket writes take about a millisecond at most).
 */
const SMALL_ROOM = 32;

/**
 * The frame fields of consecutive batches: `from`/`upTo` (the range they cover) when the relevance
 * rules left something out of one of them; otherwise none (the messages say it).
 */
function frameOf(batches: readonly Omit<QueuedBatch, 'seq'>[]): {
  channel: string;
  epoch: string;
  from?: number;
  upTo?: number;
} {
  const first = batches[0]!;
  if (!batches.some((b) => b.skipped)) return { channel: first.channel, epoch: first.epoch };
  return { channel: first.channel, epoch: first.epoch, from: first.first, upTo: batches.at(-1)!.last };
}

/** The leading batches of one epoch (an epoch change cancels a broadcast, so normally all of them). */
function takeRound(queue: QueuedBatch[]): QueuedBatch[] {
  const epoch = queue[0]!.epoch;
  let n = 1;
  while (n < queue.length && queue[n]!.epoch === epoch) n++;
  return queue.splice(0, n);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
