import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ErrorCode } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { StatsCounter } from './stats.js';
import { dropTransport, queuedBytes } from './socket-queue.js';

/** How often every socket's queue is measured. Live fan-out is one room broadcast per batch with no per-socket work, so between two checks a socket's queue can grow by what its channels publish in this time. */
export const QUEUE_CHECK_MS = 250;
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
 * Cuts sockets that do not read (docs/architecture.md §6: `maxQueuedBytes`, 4 MiB): a periodic check of every
 * socket's queue, plus `admit` before anything sent to one socket alone. A cut drops the transport
 * (an `error` frame queued behind megabytes would never arrive), so the client reconnects and
 * resumes from its positions; the reason reaches it as an `error {code: 'slow_consumer'}` frame
 * when that device connects again, and is counted (`slowConsumers`) and logged.
 */
export class SlowConsumerGuard {
  private timer: NodeJS.Timeout | undefined;
  /** Device key → when the notice expires. */
  private readonly notices = new Map<string, number>();

  constructor(
    private readonly consumers: Iterable<Consumer>,
    private readonly maxQueuedBytes: number,
    private readonly stats: StatsCounter,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), QUEUE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Measures every socket once; cuts those over the limit. */
  check(): void {
    for (const consumer of this.consumers) {
      const queued = queuedBytes(consumer.socket);
      if (queued > this.maxQueuedBytes) this.cut(consumer, queued);
    }
  }

  /**
   * Before `bytes` go to this socket alone: true when they fit under the limit; otherwise the
   * socket is cut and nothing should be sent.
   */
  admit(consumer: Consumer, bytes: number): boolean {
    if (!consumer.socket.connected) return false;
    const queued = queuedBytes(consumer.socket);
    if (queued + bytes <= this.maxQueuedBytes) return true;
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
