import type { StoredMessage, StreamInfo } from '../store/types.js';
import { envelopeJson, type EnvelopeCache } from './msg-frame.js';

const INITIAL_SLOTS = 8;
/** The ring of a channel that has recorded nothing yet (never written to: it has no slots). */
const NO_RING: (RecentEntry | undefined)[] = [];
/** Envelopes up to this many characters keep their text in the ring; bigger ones are encoded per send (their text would double the ring's memory). */
const MAX_KEPT_ENVELOPE = 4096;

/** A message this node has fanned out, and when. */
export interface RecentEntry {
  message: StoredMessage;
  sentAt: number;
  /** The message's envelope as JSON (`envelopeJson`), kept once a ring replay or redelivery first encodes it, and reused by the next; only for small envelopes. */
  json: string | undefined;
}

/**
 * What one node knows of one active channel: its epoch, the head it has fanned out to the room
 * (everyone in the room has been sent up to `head`, or is being sent it by a chunked broadcast that
 * nothing overtakes: room-sender.ts), and a ring of the most recent messages with
 * their send times, used for redelivery and for the last step of a resume, so neither needs a
 * store read nor any per-subscriber bookkeeping per message.
 */
export class ChannelState implements EnvelopeCache {
  epoch: string;
  /** Highest offset fanned out to this channel's room from this node. */
  head: number;
  /** Local subscriptions (joined or joining); the registry evicts idle states with none. */
  subscribers = 0;
  /**
   * When it last fanned a message out (or was made), in whole seconds: a small integer, where ms
   * would be a boxed number (+16 B) in every state, an idle inbox's too. Eviction waits a minute.
   */
  private lastActiveSecond = Math.floor(Date.now() / 1000);
  /**
   * Grows from a few slots to `capacity`: most channels (inboxes) stay small. None until the
   * first message (an idle inbox shares the empty one).
   */
  private ring: (RecentEntry | undefined)[] = NO_RING;
  private readonly capacity: number;

  constructor(
    readonly stream: string,
    readonly tenant: string,
    readonly channel: string,
    info: StreamInfo,
    capacity: number,
  ) {
    this.epoch = info.epoch;
    this.head = info.head;
    this.capacity = Math.max(INITIAL_SLOTS, capacity);
  }

  /** When it last fanned a message out (or was made), ms since the epoch, rounded down to the second. */
  get lastActiveAt(): number {
    return this.lastActiveSecond * 1000;
  }

  /** The Socket.IO room of this channel: one per tenant and channel. */
  get room(): string {
    return this.stream;
  }

  /**
   * Records a message as fanned out now (or being fanned out: a broadcast to a big room is written
   * in chunks, see room-sender.ts); offsets arrive in order. `json` is its envelope's text, if
   * known (else it is encoded when first asked for).
   */
  record(message: StoredMessage, sentAt: number, json?: string): void {
    if (this.ring === NO_RING) this.ring = new Array<RecentEntry | undefined>(INITIAL_SLOTS);
    const slot = message.offset % this.ring.length;
    const evicted = this.ring[slot];
    if (evicted && evicted.message.offset !== message.offset && this.ring.length < this.capacity) this.grow();
    const kept = json !== undefined && json.length <= MAX_KEPT_ENVELOPE ? json : undefined;
    this.ring[message.offset % this.ring.length] = { message, sentAt, json: kept };
    if (message.offset > this.head) this.head = message.offset;
    this.lastActiveSecond = Math.floor(sentAt / 1000);
  }

  recent(offset: number): RecentEntry | undefined {
    const entry = this.ring[offset % this.ring.length];
    return entry && entry.message.offset === offset ? entry : undefined;
  }

  /** Moves the send time of `from ..= to` still in the ring to `at` (a chunked broadcast ended then). */
  markSent(from: number, to: number, at: number): void {
    for (let offset = from; offset <= to; offset++) {
      const entry = this.recent(offset);
      if (entry) entry.sentAt = at;
    }
  }

  /** The envelope text of a message the ring holds (this very object), else undefined. */
  envelopeJsonOf(message: StoredMessage): string | undefined {
    const entry = this.ring[message.offset % this.ring.length];
    if (entry?.message !== message) return undefined;
    if (entry.json !== undefined) return entry.json;
    const json = envelopeJson(message);
    if (json.length <= MAX_KEPT_ENVELOPE) entry.json = json;
    return json;
  }

  /** Messages `after < offset <= upTo` from the ring, or undefined if any of them is not there. */
  recentRange(after: number, upTo: number): StoredMessage[] | undefined {
    if (upTo - after > this.ring.length) return undefined;
    const out: StoredMessage[] = [];
    for (let offset = after + 1; offset <= upTo; offset++) {
      const entry = this.recent(offset);
      if (!entry) return undefined;
      out.push(entry.message);
    }
    return out;
  }

  private grow(): void {
    const bigger = new Array<RecentEntry | undefined>(Math.min(this.capacity, this.ring.length * 2));
    for (const entry of this.ring) if (entry) bigger[entry.message.offset % bigger.length] = entry;
    this.ring = bigger;
  }

  /** The log was lost and begun anew (another epoch): forget what was recent. */
  restart(epoch: string, head: number): void {
    this.epoch = epoch;
    this.head = head;
    this.ring.fill(undefined);
  }
}
