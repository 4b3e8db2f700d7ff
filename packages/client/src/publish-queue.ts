/**
 * Publishes go through one bounded FIFO, sent one at a time while the socket is up, so they reach
 * the server in the order the app made them, whether made online or offline. Each carries an
 * idempotency `id` (generated when absent) kept with the item, so a publish resent after a lost
 * reply or a reconnect is stored once (the server answers a repeated id with the first offset).
 * The HTTP fallback cannot publish (`POST /v1/publish` takes an API key, which clients do not
 * have): in `fallback` publishes wait here for the socket.
 */
import {
  ErrorCode,
  TetherError,
  isPubFrame,
  type ErrorCode as ErrorCodeType,
  type MessagePriority,
  type PubFrame,
  type PubReply,
} from '@tether/protocol/wire';
import { Backoff } from './backoff.js';
import { parseStored, type KeyValueStorage } from './storage.js';

export interface PublishOptions {
  /** Idempotency key, 1–128 characters. Default: a random UUID. */
  id?: string;
  /** Milliseconds after which the message is no longer worth replaying. */
  ttl?: number;
  /** Goes to the push fallback if no device of the user acks it in time. */
  critical?: boolean;
  /** Of the messages with one collapse key, a replay keeps only the latest. */
  collapseKey?: string;
  /** `high`, `normal` (default) or `low`: on resume, channels with higher-priority messages pending come first. */
  priority?: MessagePriority;
  /** This message's push policy: `true` (the server's default `ackWithin`) or `{ ackWithin }` in ms. */
  push?: boolean | { ackWithin: number };
}

export interface PublishResult {
  /** The message's offset in its channel. */
  offset: number;
  epoch: string;
  /** The idempotency key used. */
  id: string;
}

/** How one send ended: the server's reply, its refusal, or no answer (connection lost, timeout). */
export type SendOutcome =
  { kind: 'reply'; value: PubReply } | { kind: 'error'; error: TetherError } | { kind: 'lost'; reason: string };

export type PublishSender = (frame: PubFrame) => Promise<SendOutcome>;

interface QueuedPublish {
  frame: PubFrame;
  resolve: (result: PublishResult) => void;
  reject: (error: TetherError) => void;
}

/** Refusals that a later attempt with the same id may turn into a success. */
const RETRYABLE: ReadonlySet<ErrorCodeType> = new Set([
  ErrorCode.StoreUnavailable,
  ErrorCode.ShuttingDown,
  ErrorCode.Internal,
  ErrorCode.RateLimited,
]);

export interface PublishQueueDeps {
  maxSize: number;
  /** Present when the queue is persisted. */
  storage: KeyValueStorage | undefined;
  onPublished: () => void;
  /** A restored publish (from storage, with no caller left to tell) failed for good. */
  onOrphanFailed: (error: TetherError, frame: PubFrame) => void;
  onStorageError: (err: unknown) => void;
}

export class PublishQueue {
  private readonly items: QueuedPublish[] = [];
  private sender: PublishSender | undefined;
  private draining = false;
  private storageKey: string | undefined;
  private saveScheduled = false;
  private readonly retry = new Backoff({ initialDelayMs: 500, maxDelayMs: 10_000, factor: 2, jitter: 'full' });
  private retryTimer: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;

  constructor(private readonly deps: PublishQueueDeps) {}

  get size(): number {
    return this.items.length;
  }

  /** Loads what a previous instance left queued (persisted queues only); those go out first. */
  async restore(storageKey: string): Promise<void> {
    const storage = this.deps.storage;
    if (!storage) return;
    this.storageKey = storageKey;
    let stored: unknown;
    try {
      stored = parseStored(await storage.load(storageKey));
    } catch (err) {
      this.deps.onStorageError(err);
      return;
    }
    if (!Array.isArray(stored)) return;
    const restored: QueuedPublish[] = [];
    for (const raw of stored) {
      if (!isPubFrame(raw)) continue;
      const frame = raw;
      restored.push({ frame, resolve: () => {}, reject: (error) => this.deps.onOrphanFailed(error, frame) });
    }
    this.items.unshift(...restored.filter((r) => !this.items.some((i) => i.frame.id === r.frame.id)));
    this.persist();
  }

  /** Queues a publish; rejects at once with `queue_full` when the queue is at its bound. */
  add(frame: PubFrame): Promise<PublishResult> {
    if (this.items.length >= this.deps.maxSize) {
      return Promise.reject(
        new TetherError(ErrorCode.QueueFull, `publish queue full (${this.deps.maxSize}); ${frame.channel} not queued`),
      );
    }
    return new Promise<PublishResult>((resolve, reject) => {
      this.items.push({ frame, resolve, reject });
      this.persist();
      void this.drain();
    });
  }

  /** The socket is up: send through `sender`, in order. */
  start(sender: PublishSender): void {
    this.sender = sender;
    this.retry.reset();
    void this.drain();
  }

  /** The socket is down: stop after the publish in flight (it is resent, same id, on the next start). */
  pause(): void {
    this.sender = undefined;
    this.retryTimer?.wake();
  }

  /** Rejects every queued publish (on `close()`); a persisted queue is cleared too. */
  rejectAll(error: TetherError): void {
    this.pause();
    for (const item of this.items.splice(0)) item.reject(error);
    this.persist();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.sender && this.items.length > 0) {
        const item = this.items[0]!;
        const outcome = await this.sender(item.frame);
        if (this.items[0] !== item) continue; // rejected meanwhile (close)
        if (outcome.kind === 'reply') {
          this.items.shift();
          this.persist();
          this.retry.reset();
          this.deps.onPublished();
          item.resolve({ offset: outcome.value.offset, epoch: outcome.value.epoch, id: item.frame.id });
        } else if (outcome.kind === 'error' && !RETRYABLE.has(outcome.error.code)) {
          this.items.shift();
          this.persist();
          item.reject(outcome.error);
        } else if (this.sending()) {
          // A retryable refusal or a timeout on a live socket: again after a pause, with the same id;
          // `rate_limited` says how long the pause must be at least.
          const backoff = this.retry.next();
          await this.sleep(outcome.kind === 'error' ? Math.max(backoff, outcome.error.retryAfterMs ?? 0) : backoff);
        }
        // Lost with the socket: the loop ends; `start()` resumes with this item at the head.
      }
    } finally {
      this.draining = false;
    }
  }

  /** Read afresh after each await (a narrowing of `this.sender` would not be). */
  private sending(): boolean {
    return this.sender !== undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.retryTimer = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.retryTimer = { timer, wake };
    });
  }

  /** Saves the queue once per burst of changes (persisted queues only). */
  private persist(): void {
    const storage = this.deps.storage;
    if (!storage || this.storageKey === undefined || this.saveScheduled) return;
    this.saveScheduled = true;
    queueMicrotask(() => {
      this.saveScheduled = false;
      const key = this.storageKey!;
      const value = this.items.length === 0 ? null : JSON.stringify(this.items.map((i) => i.frame));
      try {
        const pending = storage.save(key, value);
        if (pending) pending.catch((err: unknown) => this.deps.onStorageError(err));
      } catch (err) {
        this.deps.onStorageError(err);
      }
    });
  }
}
