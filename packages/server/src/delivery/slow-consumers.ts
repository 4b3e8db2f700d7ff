import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ErrorCode } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { StatsCounter } from './stats.js';
import { dropTransport, queuedBytes } from './socket-queue.js';

/** How often the guard checks. Live fan-out is one room broadcast per batch with no per-socket work, so between two checks a socket's queue can grow by what its channels publish in this time. */
export const QUEUE_CHECK_MS = 250;
/** Every socket is measured at least this many checks apart (2 s), whatever was broadcast. */
const WALK_EVERY_CHECKS = 8;

/** Bytes of the frames written to many sockets at once (the room sender's), counted once per frame since start. */
export interface BroadcastBytes {
  readonly broadcastBytes: number;
}
/** How long a device that was cut is told so when it connects again. */
const NOTICE_TTL_MS = 10 * 60_000;
/** Devices remembered for that notice; the oldest is forgotten first. */
const MAX_NOTICES = 10_000;

/** What the guard needs of a connection. */
export interface Consumer {
  readonly socket: Socket;
  readonly context: AuthContext;
}

/**
 * Cuts sockets that do not read (docs/architecture.md §6: `maxQueuedBytes`, 4 MiB): a periodic check
 * of the sockets' queues, plus `admit` before anything sent to one socket alone.
 *
 * The check costs in proportion to the sockets that may be behind, not to all of them (measuring
 * 10,000 queues held the loop ~8 ms, 4 times a second: bench/README.md, "the slow-consumer check").
 * A walk measures every socket and watches those over a quarter of the limit; until the next walk
 * any other socket's queue can grow by at most the frames broadcast since (every socket of a room
 * gets the same frame) plus what it was sent alone, which goes through `admit` and has it watched.
 * So a check measures only the watched sockets, and walks again once a quarter of the limit has
 * been broadcast since the last walk (or after `WALK_EVERY_CHECKS`, for the small frames sent
 * outside both: replies, presence diffs): a socket is still cut at the first check after it passes
 * the limit, as when every check measured everyone. A cut drops the transport
 * (an `error` frame queued behind megabytes would never arrive), so the client reconnects and
 * resumes from its positions; the reason reaches it as an `error {code: 'slow_consumer'}` frame
 * when that device connects again, and is counted (`slowConsumers`) and logged.
 */
export class SlowConsumerGuard {
  private timer: NodeJS.Timeout | undefined;
  /** Device key → when the notice expires. */
  private readonly notices = new Map<string, number>();
  /** Sockets measured at every check: over a quarter of the limit at the last walk, or sent something alone since. */
  private readonly watched = new Set<Consumer>();
  /** `broadcastBytes` at the last walk (NaN: no walk yet). */
  private broadcastAtWalk = Number.NaN;
  private checksSinceWalk = 0;

  constructor(
    private readonly consumers: Iterable<Consumer>,
    private readonly maxQueuedBytes: number,
    private readonly stats: StatsCounter,
    private readonly log: Logger,
    private readonly broadcast: BroadcastBytes,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), QUEUE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Measures the sockets that may be over the limit (all of them when due); cuts those that are. */
  check(): void {
    const broadcast = this.broadcast.broadcastBytes - this.broadcastAtWalk; // NaN before the first walk
    if (!(broadcast < this.maxQueuedBytes / 4) || ++this.checksSinceWalk >= WALK_EVERY_CHECKS) return this.walk();
    for (const consumer of this.watched) this.measure(consumer);
  }

  /** Measures every socket; watches those over a quarter of the limit until the next walk. */
  private walk(): void {
    this.broadcastAtWalk = this.broadcast.broadcastBytes;
    this.checksSinceWalk = 0;
    this.watched.clear();
    for (const consumer of this.consumers) this.measure(consumer);
  }

  /** Cuts the socket when it is over the limit; keeps it watched while over a quarter of it. */
  private measure(consumer: Consumer): void {
    const queued = consumer.socket.connected ? queuedBytes(consumer.socket) : 0;
    if (queued > this.maxQueuedBytes) this.cut(consumer, queued);
    if (queued > this.maxQueuedBytes / 4 && consumer.socket.connected) this.watched.add(consumer);
    else this.watched.delete(consumer);
  }

  /**
   * Before `bytes` go to this socket alone: true when they fit under the limit; otherwise the
   * socket is cut and nothing should be sent.
   */
  admit(consumer: Consumer, bytes: number): boolean {
    if (!consumer.socket.connected) return false;
    const queued = queuedBytes(consumer.socket);
    if (queued + bytes <= this.maxQueuedBytes) {
      this.watched.add(consumer); // its queue grows by these bytes, beyond what the walks account for
      return true;
    }
    this.cut(consumer, queued);
    return false;
  }

  /** A new connection: if this device was cut lately, it learns why now. */
  greet(consumer: Consumer): void {
    const key = deviceKey(consumer.context);
    const until = this.notices.get(key);
    if (until === undefined) return;
    this.notices.delete(key);
    if (until < Date.now()) return;
    consumer.socket.emit('error', {
      code: ErrorCode.SlowConsumer,
      message: `this device was disconnected for not reading: more than ${this.maxQueuedBytes} bytes waited for it; resumed from its positions`,
    });
  }

  private cut(consumer: Consumer, queued: number): void {
    if (!consumer.socket.connected) return;
    const { tenant, sub, deviceId } = consumer.context;
    this.stats.values.slowConsumers++;
    this.log.warn(
      { code: ErrorCode.SlowConsumer, tenant, sub, deviceId, socket: consumer.socket.id, queued },
      'slow consumer cut',
    );
    this.remember(deviceKey(consumer.context));
    dropTransport(consumer.socket);
  }

  private remember(key: string): void {
    this.notices.delete(key);
    this.notices.set(key, Date.now() + NOTICE_TTL_MS);
    if (this.notices.size > MAX_NOTICES) this.notices.delete(this.notices.keys().next().value!);
  }
}

function deviceKey(ctx: AuthContext): string {
  return `${ctx.tenant}\n${ctx.sub}\n${ctx.deviceId}`;
}
