/**
 * One direction of a proxied connection: forwards chunks from a source socket to a destination,
 * optionally late (added latency), and not at all while stalled. Memory is bounded: the source is
 * paused while too many bytes wait (delay) or the destination pushes back.
 */
import type net from 'node:net';

export interface PipeOptions {
  /** The latency to add to a chunk arriving now. */
  delayMs: () => number;
  /** Called with the size of every chunk handed to the destination. */
  counted: (bytes: number) => void;
  /** Bytes waiting in the delay queue before the source is paused. */
  maxQueuedBytes: number;
}

interface Queued {
  chunk: Buffer;
  due: number;
}

export class Pipe {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private lastDue = 0;
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;
  private waitingDrain = false;
  private sourceEnded = false;
  private ended = false;
  private disposed = false;

  constructor(
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    private readonly options: PipeOptions,
  ) {}

  /** Forwards a chunk now, or after the delay, in arrival order either way. */
  write(chunk: Buffer): void {
    if (this.disposed) return;
    const delay = this.options.delayMs();
    if (delay <= 0 && this.queue.length === 0 && !this.stalled) {
      this.send(chunk);
    } else {
      // Never earlier than the chunk before it: a shorter delay set later must not reorder bytes.
      const due = Math.max(Date.now() + Math.max(0, delay), this.lastDue);
      this.lastDue = due;
      this.queue.push({ chunk, due });
      this.queuedBytes += chunk.length;
      this.schedule();
    }
    this.updateFlow();
  }

  /** The source sent FIN: end the destination once everything queued is out. */
  end(): void {
    this.sourceEnded = true;
    this.flush();
  }

  /** True once the source has ended and everything before its end was handed on. */
  get finished(): boolean {
    return this.ended;
  }

  stall(): void {
    this.stalled = true;
    this.clearTimer();
    this.updateFlow();
  }

  resume(): void {
    this.stalled = false;
    this.flush();
    this.updateFlow();
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
    this.queue = [];
    this.queuedBytes = 0;
  }

  private flush(): void {
    this.clearTimer();
    if (this.stalled || this.disposed) return;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0]?.due ?? 0) <= now) {
      const next = this.queue.shift();
      if (!next) break;
      this.queuedBytes -= next.chunk.length;
      this.send(next.chunk);
    }
    if (this.queue.length > 0) this.schedule();
    else if (this.sourceEnded && !this.ended) {
      this.ended = true;
      if (!this.destination.destroyed) this.destination.end();
    }
    this.updateFlow();
  }

  private schedule(): void {
    if (this.timer || this.stalled || this.disposed) return;
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, head.due - Date.now()),
    );
  }

  private send(chunk: Buffer): void {
    const destination = this.destination;
    if (destination.destroyed || destination.writableEnded) return;
    this.options.counted(chunk.length);
    if (!destination.write(chunk) && !this.waitingDrain) {
      this.waitingDrain = true;
      destination.once('drain', () => {
        this.waitingDrain = false;
        this.updateFlow();
      });
    }
  }

  /** Reads from the source only while there is somewhere to put the bytes. */
  private updateFlow(): void {
    if (this.disposed || this.source.destroyed) return;
    const flow = !this.stalled && !this.waitingDrain && this.queuedBytes < this.options.maxQueuedBytes;
    if (flow && this.source.isPaused()) this.source.resume();
    else if (!flow && !this.source.isPaused()) this.source.pause();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
