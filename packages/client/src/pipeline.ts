/**
 * One channel's delivery pipeline: the place where at-least-once on the wire becomes exactly-once
 * for the app. Frames from every path (live socket, socket replay, redelivery, HTTP poll) enter one
 * FIFO and are handled strictly one message at a time, in offset order:
 *
 * - a message at or below the position is a duplicate: dropped and counted;
 * - in a live or redelivered frame (no `upTo`) only position+1 is handled; a message beyond it is
 *   held, and the gap is asked for if it is not filled within `gapTimeoutMs`;
 * - a replay or poll frame (with `upTo`) answers a request made from a position at or below ours,
 *   so it covers everything after it: offsets missing inside it were skipped by relevance rules,
 *   and `upTo` moves the position past the skipped tail;
 * - a live or redelivered frame that the server's relevance rules thinned carries `from` too: it
 *   covers `from ..= upTo` only, so it applies like a replay frame once the position is at
 *   `from - 1`, and is held (its skipped offsets as markers) while it is ahead;
 * - a message whose `expiresAt` has passed (by the server's clock, estimated from the RTT probe)
 *   when its turn comes, or that a message already in hand `supersedes` (live fan-out names what
 *   a message makes irrelevant), is not handed to the handler: counted (`expired`, `superseded`),
 *   reported (`stale`), and the position moves past it as if handled (so it is acked). Frames are
 *   taken up one microtask after they arrive, so a burst (a frozen socket that thaws) is all in
 *   hand before its first message runs;
 * - a frame of another epoch is late (an epoch we resynced away from: dropped) or tells of a resync
 *   we missed (we ask from our position); at offset 0 nothing was handled yet, so the pipeline
 *   simply adopts the epoch (a channel that was unwritten getting its first messages);
 * - the position moves (and the message becomes ackable) only after the handler resolved; a
 *   handler that throws gets the same message again after a backoff, and nothing behind it runs.
 */
import { ErrorCode, TetherError, type Envelope, type Message, type Position } from '@tether/protocol/wire';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { EventMap, TypedMessage, UntypedEvents } from './events.js';

/** Gets each message of a channel once, in order; `E` types the payloads (see `events.ts`). */
export type MessageHandler<E extends EventMap = UntypedEvents> = (message: TypedMessage<E>) => void | Promise<void>;

export type Incoming =
  | { kind: 'messages'; epoch: string; messages: readonly Envelope[]; upTo?: number; from?: number }
  | { kind: 'resync'; epoch: string; offset: number };

export interface ResyncContext {
  channel: string;
  epoch: string;
  offset: number;
  /** The position that could not be served. */
  previous: Position | undefined;
}

/** What the pipeline needs from its subscription. */
export interface PipelineHost {
  readonly channel: string;
  /** The position moved (a message handled, a skip, a resync): ack it and save it. */
  advanced(position: Position): void;
  /** Messages ahead of position+1 have waited `gapTimeoutMs`: ask the server for what follows `position`. */
  gap(position: Position): void;
  /** The log restarted or the position fell out of retention; awaited before later messages run. */
  resync(context: ResyncContext): Promise<void>;
  /** The handler failed (it will run again for the same message), or a frame was unusable. */
  error(error: TetherError, message?: Message): void;
  count(counter: 'handled' | 'deduplicated' | 'handlerErrors'): void;
  /** A message arrived after its `expiresAt`, or a message in hand supersedes it: skipped, not handed to the handler (the position moves on). */
  stale(message: Message, reason: StaleReason): void;
}

/** Why the SDK skipped a message: it expired in transit, or a later message in hand supersedes it. */
export type StaleReason = 'expired' | 'superseded';

export interface PipelineOptions {
  gapTimeoutMs: number;
  handlerRetry: Omit<BackoffOptions, 'jitter'>;
  /** The server's clock as this client estimates it (ms since the epoch); `expiresAt` is compared with it. Default `Date.now`. */
  serverNow?: () => number;
}

/** A held offset the server's relevance rules skipped: the position moves past it without a handler. */
const SKIPPED = 'skipped';

/** Epochs we resynced away from, remembered so that their late frames are dropped quietly. */
const RETIRED_EPOCHS = 8;
/** The gap request repeats, doubling, up to this. */
const MAX_GAP_DELAY_MS = 30_000;

export class ChannelPipeline {
  private current: Position | undefined;
  /** Where the queued frames will have taken the position: HTTP polls ask from here. */
  private tail: Position | undefined;
  private readonly queue: Incoming[] = [];
  /** Live messages ahead of position+1, by offset, waiting for the gap before them. */
  private readonly held = new Map<number, Envelope | typeof SKIPPED>();
  private heldEpoch: string | undefined;
  private readonly retired: string[] = [];
  private handler: MessageHandler | undefined;
  private running = false;
  /** A run is due in a microtask (frames that arrive together are all queued before it starts). */
  private scheduled = false;
  /** Offsets that a message in hand (queued or held, not yet handled) says it supersedes. */
  private readonly supersededAhead = new Set<number>();
  private blocked = false;
  private stopped = false;
  private readonly settledWaiters: (() => void)[] = [];
  private wake: (() => void) | undefined;
  private gapTimer: ReturnType<typeof setTimeout> | undefined;
  private gapDelay: number;

  constructor(
    private readonly host: PipelineHost,
    private readonly options: PipelineOptions,
    handler: MessageHandler | undefined,
    start: Position | undefined,
  ) {
    this.handler = handler;
    this.current = start;
    this.tail = start;
    this.gapDelay = options.gapTimeoutMs;
  }

  /** The last position handled (undefined: none yet; live messages set it). */
  get position(): Position | undefined {
    return this.current;
  }

  /** Where the position will be once what is queued is handled: the HTTP poll asks from here. */
  get expected(): Position | undefined {
    const { current, tail } = this;
    if (!tail) return current;
    if (!current) return tail;
    if (!sameLife(current, tail.epoch)) return current;
    return tail.offset > current.offset ? tail : current;
  }

  /** Frames waiting, held messages included (for tests and metrics). */
  get backlog(): number {
    return this.queue.length + this.held.size;
  }

  setHandler(handler: MessageHandler): void {
    this.handler = handler;
    this.wake?.();
  }

  /** Takes a position learnt from the server (a `sub` reply) when none is known yet. */
  adopt(position: Position): void {
    if (this.current !== undefined || this.stopped) return;
    this.current = position;
    this.tail = position;
    this.host.advanced(position);
  }

  push(item: Incoming): void {
    if (this.stopped) return;
    this.extendTail(item);
    if (item.kind === 'messages') this.noteSupersedes(item.messages);
    this.queue.push(item);
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  /** Resolves when nothing is queued, or the pipeline waits on a failing handler (or for a handler). */
  settled(): Promise<void> {
    if ((!this.running && !this.scheduled) || this.blocked || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Ends the pipeline: queued and held frames are dropped (they were not handled, so not acked). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.held.clear();
    clearTimeout(this.gapTimer);
    this.wake?.();
    this.notifySettled();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const item = this.queue[0]!;
        if (item.kind === 'resync') await this.applyResync(item);
        else await this.applyMessages(item);
        this.queue.shift();
        await this.drainHeld();
        this.armGapTimer();
      }
    } finally {
      this.running = false;
      this.notifySettled();
    }
  }

  private async applyMessages(frame: Extract<Incoming, { kind: 'messages' }>): Promise<void> {
    const replay = frame.upTo !== undefined;
    if (this.current === undefined) {
      // Live from now: the first frame of a subscription without a position tells where it starts.
      const first = frame.messages[0]?.offset ?? (frame.upTo ?? 0) + 1;
      this.moveTo({ epoch: frame.epoch, offset: first - 1 });
    } else if (this.current.epoch === undefined) {
      this.moveTo({ epoch: frame.epoch, offset: this.current.offset });
    } else if (this.current.epoch !== frame.epoch) {
      if (this.retired.includes(frame.epoch) || !sameLife(this.current, frame.epoch)) {
        this.foreignEpoch(frame.epoch);
        return;
      }
      // Nothing handled yet (a channel that was unwritten): the log's first real life is ours.
      this.current = { epoch: frame.epoch, offset: 0 };
    }
    if (replay && frame.from !== undefined && frame.from > this.current!.offset + 1) {
      // A thinned live frame ahead of us: hold it whole, its skipped offsets as markers.
      this.holdRange(frame.epoch, frame.messages, frame.from, frame.upTo!);
      return;
    }
    for (let i = 0; i < frame.messages.length; i++) {
      const envelope = frame.messages[i]!;
      const position = this.current!;
      if (envelope.offset <= position.offset) {
        this.host.count('deduplicated');
        continue;
      }
      if (!replay && envelope.offset > position.offset + 1) {
        // Ahead: keep it (and the rest of the frame) until the gap before it is filled.
        for (const later of frame.messages.slice(i)) if (later.offset > position.offset) this.hold(frame.epoch, later);
        return;
      }
      if (!(await this.deliver(frame.epoch, envelope))) return;
    }
    if (replay && frame.upTo! > this.current!.offset) this.moveTo({ epoch: frame.epoch, offset: frame.upTo! });
  }

  private async applyResync(item: Extract<Incoming, { kind: 'resync' }>): Promise<void> {
    const previous = this.current;
    if (previous?.epoch !== undefined && previous.epoch !== item.epoch) {
      this.retired.push(previous.epoch);
      if (this.retired.length > RETIRED_EPOCHS) this.retired.shift();
    }
    this.held.clear();
    this.supersededAhead.clear();
    this.moveTo({ epoch: item.epoch, offset: item.offset });
    this.tail = this.current;
    await this.host.resync({ channel: this.host.channel, epoch: item.epoch, offset: item.offset, previous });
  }

  /** A frame of an epoch that is not ours: late (we resynced away from it) or a resync we missed. */
  private foreignEpoch(epoch: string): void {
    this.tail = this.current;
    if (this.retired.includes(epoch)) {
      this.host.count('deduplicated');
      return;
    }
    // Asking from our position makes the server answer with the `resync` we did not see.
    this.host.gap(this.current!);
  }

  private hold(epoch: string, envelope: Envelope | typeof SKIPPED, offset = (envelope as Envelope).offset): void {
    if (this.heldEpoch !== epoch) this.held.clear();
    this.heldEpoch = epoch;
    this.held.set(offset, envelope);
  }

  /** Holds `from ..= upTo`: the messages, and a marker for each offset the server skipped. */
  private holdRange(epoch: string, messages: readonly Envelope[], from: number, upTo: number): void {
    const present = new Set<number>();
    for (const m of messages) {
      present.add(m.offset);
      this.hold(epoch, m);
    }
    for (let offset = from; offset <= upTo; offset++) if (!present.has(offset)) this.hold(epoch, SKIPPED, offset);
  }

  private async drainHeld(): Promise<void> {
    while (!this.stopped && this.held.size > 0 && this.current !== undefined) {
      const position = this.current;
      if (this.heldEpoch !== position.epoch) {
        this.held.clear();
        break;
      }
      for (const offset of this.held.keys()) {
        if (offset <= position.offset) {
          this.held.delete(offset);
          this.host.count('deduplicated');
        }
      }
      const next = this.held.get(position.offset + 1);
      if (!next) break;
      this.held.delete(position.offset + 1);
      if (next === SKIPPED) this.moveTo({ epoch: position.epoch, offset: position.offset + 1 });
      else if (!(await this.deliver(position.epoch!, next))) return;
    }
  }

  private armGapTimer(): void {
    if (this.held.size === 0 || this.stopped) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
      this.gapDelay = this.options.gapTimeoutMs;
      return;
    }
    if (this.gapTimer !== undefined) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.stopped || this.held.size === 0 || !this.current) return;
      this.host.gap(this.current);
      this.gapDelay = Math.min(this.gapDelay * 2, MAX_GAP_DELAY_MS);
      this.armGapTimer();
    }, this.gapDelay);
  }

  /** Runs the handler until it succeeds (or the pipeline stops); true when the message was handled. */
  private async deliver(epoch: string, envelope: Envelope): Promise<boolean> {
    const message: Message = { channel: this.host.channel, ...envelope };
    const backoff = new Backoff({ ...this.options.handlerRetry, jitter: 'none' });
    const serverNow = this.options.serverNow ?? Date.now;
    for (;;) {
      const handler = this.handler ?? (await this.waitForHandler());
      if (this.stopped || !handler) return false;
      const stale = this.supersededAhead.has(envelope.offset)
        ? 'superseded'
        : envelope.expiresAt !== undefined && serverNow() > envelope.expiresAt
          ? 'expired'
          : undefined;
      if (stale) {
        // Stale by the time it could be handled (a frozen socket, a long outage): never the app's.
        this.host.stale(message, stale);
        this.moveTo({ epoch, offset: envelope.offset });
        return true;
      }
      try {
        await handler(message);
        this.host.count('handled');
        this.moveTo({ epoch, offset: envelope.offset });
        return true;
      } catch (err) {
        if (this.stopped) return false;
        this.host.count('handlerErrors');
        const error = new TetherError(
          ErrorCode.HandlerFailed,
          `handler failed on ${this.host.channel} offset ${envelope.offset}; it runs again for this message`,
          { cause: err },
        );
        this.host.error(error, message);
        await this.pause(backoff.next());
      }
    }
  }

  private moveTo(position: Position): void {
    this.current = position;
    if (this.supersededAhead.size > 0)
      for (const o of this.supersededAhead) if (o <= position.offset) this.supersededAhead.delete(o);
    this.host.advanced(position);
  }

  /** Remembers what arriving messages supersede, for the offsets not handled yet. */
  private noteSupersedes(messages: readonly Envelope[]): void {
    const handled = this.current?.offset ?? 0;
    for (const m of messages) {
      if (!m.supersedes || m.offset <= handled) continue;
      for (const offset of m.supersedes) if (offset > handled && offset < m.offset) this.supersededAhead.add(offset);
    }
  }

  private extendTail(item: Incoming): void {
    if (item.kind === 'resync') return; // applied when processed; a queued resync makes the tail moot
    const tail = this.expected;
    if (tail === undefined) {
      if (item.upTo !== undefined) this.tail = { epoch: item.epoch, offset: item.upTo };
      return;
    }
    if (!sameLife(tail, item.epoch)) return;
    let offset = tail.offset;
    if (item.from !== undefined && item.from > offset + 1) return; // ahead of us: held, covers nothing yet
    if (item.upTo !== undefined) offset = Math.max(offset, item.upTo);
    else for (const m of item.messages) if (m.offset === offset + 1) offset = m.offset;
    this.tail = { epoch: item.epoch, offset };
  }

  private waitForHandler(): Promise<MessageHandler | undefined> {
    return this.blockUntil(new Promise<void>((resolve) => (this.wake = resolve))).then(() => this.handler);
  }

  private pause(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slept = new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    return this.blockUntil(slept).finally(() => clearTimeout(timer));
  }

  /** While blocked, the pipeline counts as settled: an HTTP poll need not wait for a failing handler. */
  private async blockUntil(done: Promise<void>): Promise<void> {
    this.blocked = true;
    this.notifySettled();
    try {
      await done;
    } finally {
      this.blocked = false;
      this.wake = undefined;
    }
  }

  private notifySettled(): void {
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}

/**
 * Whether frames of `epoch` continue `position`: the same life of the log, or a position that has
 * handled nothing yet (offset 0 matches any epoch: nothing can be missed by moving it).
 */
function sameLife(position: Position, epoch: string | undefined): boolean {
  return position.epoch === undefined || position.epoch === epoch || position.offset === 0;
}
