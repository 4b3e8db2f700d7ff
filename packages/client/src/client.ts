/**
 * `TetherClient`, the composition root: options, storage, token, the state machine, the
 * connector (socket, fallback, heartbeat), the subscriptions and the publish queue, wired together.
 * The delivery logic lives in the pipeline, the connection logic in the connector.
 */
import {
  ErrorCode,
  TetherError,
  inboxOf,
  isErrorCode,
  isValidChannel,
  pubFrameSchema,
  type ErrorFrame,
  type MsgFrame,
  type PubFrame,
  type PubReply,
  type Position,
  type Positions,
  type ResyncFrame,
  type SubReply,
} from '@tether/protocol';
import { Acker } from './acker.js';
import { Connector } from './connector.js';
import { TypedEmitter } from './emitter.js';
import type { PollEntry } from './fallback.js';
import { randomId } from './ids.js';
import { MetricsRecorder, type ClientMetrics } from './metrics.js';
import { resolveOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import type { MessageHandler, ResyncContext } from './pipeline.js';
import { PositionStore } from './positions.js';
import { PublishQueue, type PublishOptions, type PublishResult } from './publish-queue.js';
import { isRecord } from './socket-link.js';
import { ClientState, StateMachine, StatusReason, type StatusChange } from './state.js';
import { parseStored, resolveStorage, type KeyValueStorage } from './storage.js';
import { Subscription, SubscriptionState, type SubscribeOptions, type SubscriptionHost } from './subscription.js';
import { TokenSource } from './token.js';

export interface ClientErrorContext {
  error: TetherError;
  /** The channel concerned, if any. */
  channel?: string;
}

export interface ServerDownContext {
  /** Consecutive failed attempts so far. */
  attempts: number;
  /** The last refusal, when the server answered at all. */
  error?: TetherError;
}

export interface ClientEvents {
  status: StatusChange;
  error: ClientErrorContext;
  resync: ResyncContext;
  serverDown: ServerDownContext;
}

/** Errors a `sub` retry cannot fix: the subscription ends. */
const SUB_FATAL: ReadonlySet<string> = new Set([
  ErrorCode.Forbidden,
  ErrorCode.InvalidChannel,
  ErrorCode.TooManyChannels,
  ErrorCode.BadRequest,
]);
const SUB_RETRY_MS = 1000;

export class TetherClient {
  private readonly options: ResolvedClientOptions;
  private readonly events: TypedEmitter<ClientEvents>;
  private readonly machine: StateMachine;
  private readonly stats = new MetricsRecorder();
  private readonly storage: KeyValueStorage;
  private readonly tokens: TokenSource;
  private readonly positionStore: PositionStore;
  private readonly acker: Acker;
  private readonly queue: PublishQueue;
  private readonly connector: Connector;
  private readonly subs = new Map<string, Subscription>();
  private readonly subHost: SubscriptionHost;
  private readonly loading = new Set<Promise<void>>();
  private readonly inboxSub: Subscription;
  private device: string | undefined;
  private preparing: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Channels whose positions went into the current handshake (the server resumes them itself). */
  private handshaked = new Set<string>();
  /** Subscriptions with a `sub` request in flight. */
  private readonly requesting = new Set<Subscription>();
  /** Wakes `statusChanges()` iterators on close. */
  private readonly closeWakers = new Set<() => void>();
  private readonly onPageHide = (): void => void this.positionStore.flush();

  constructor(options: ClientOptions) {
    this.options = resolveOptions(options);
    const { logger } = this.options;
    this.events = new TypedEmitter<ClientEvents>((err, event) =>
      logger.error(`a '${String(event)}' listener threw`, err),
    );
    this.machine = new StateMachine((change) => {
      logger.debug(`status ${change.from} -> ${change.to} (${change.reason})`);
      this.events.emit('status', change);
    });
    const storageError = (err: unknown): void => logger.warn('storage failed', err);
    this.storage = resolveStorage(this.options.storage, storageError);
    this.tokens = new TokenSource(this.options.token, this.options.getToken, this.options.tokenRefreshMarginMs);
    this.positionStore = new PositionStore(
      this.storage,
      this.options.storagePrefix,
      this.options.url,
      this.options.positionSaveIntervalMs,
      storageError,
    );
    this.acker = new Acker(
      this.options.ackIntervalMs,
      (acks) => this.connector.link.send('ack', { acks }) || this.connector.httpAck(acks),
      (offsets) => this.stats.add('acked', offsets),
    );
    this.queue = new PublishQueue({
      maxSize: this.options.publishQueue.maxSize,
      storage: this.options.publishQueue.persist ? this.storage : undefined,
      onPublished: () => this.stats.add('published'),
      onOrphanFailed: (error, frame) => this.emitError(error, frame.channel),
      onStorageError: storageError,
    });
    this.subHost = {
      advanced: (sub, position) => {
        this.acker.record(sub.channel, position.offset);
        this.positionStore.set(sub.channel, position);
      },
      gap: (sub, position) => this.requestGap(sub, position),
      resync: (sub, context) => {
        this.stats.add('resyncs');
        this.acker.seed(sub.channel, context.offset);
        this.events.emit('resync', context);
      },
      error: (sub, context) => this.emitError(context.error, sub.channel),
      count: (counter) => this.stats.add(counter),
      unsubscribe: (sub) => this.unsubscribe(sub),
    };
    this.connector = new Connector(this.options, this.machine, this.stats, this.tokens, {
      prepared: () => this.prepare(),
      deviceId: () => this.device ?? '',
      handshakePositions: () => this.handshakePositions(),
      pollPositions: () => this.pollPositions(),
      opened: () => this.opened(),
      lost: () => this.lost(),
      msg: (frame) => this.onMsg(frame),
      resync: (frame) => this.onResync(frame),
      serverError: (frame) => this.onServerError(frame),
      pollEntry: (channel, entry) => this.onPollEntry(channel, entry),
      protocolError: (error, channel) => {
        this.stats.add('protocolErrors');
        this.emitError(error, channel);
      },
      serverDown: (attempts, error) => this.events.emit('serverDown', error ? { attempts, error } : { attempts }),
      error: (error) => this.emitError(error),
    });
    this.inboxSub = this.newSubscription('', undefined, {});
    const user = this.tokens.current;
    if (user) this.bindUser(user.tenant, user.sub);
    pageEvents()?.addEventListener('pagehide', this.onPageHide);
  }

  /** The current status. */
  get status(): ClientState {
    return this.machine.state;
  }

  /** The user's inbox `user:<sub>`, subscribed automatically. Set its handler with `client.inbox.setHandler()`. */
  get inbox(): Subscription {
    return this.inboxSub;
  }

  /** The device id sent in the handshake; undefined until the first `connect()` made or loaded it. */
  get deviceId(): string | undefined {
    return this.device;
  }

  on<K extends keyof ClientEvents>(event: K, listener: (context: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: (context: ClientEvents[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: (context: ClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Starts connecting (and retrying). Resolves when messages can flow (`connected`, or
   * `fallback`); rejects when the client fails or is closed first. Awaiting it is optional.
   */
  connect(): Promise<void> {
    if (this.closed) return rejected(new TetherError(ErrorCode.ClientClosed, 'the client is closed'));
    const state = this.machine.state;
    if (state === ClientState.Disconnected || state === ClientState.Failed) this.connector.start();
    const ready = this.whenReady();
    ready.catch(() => {}); // awaiting is optional: an unobserved failure must not crash the app
    return ready;
  }

  /** Subscribes to a channel; `handler` gets each message once, in offset order (it may return a promise). */
  subscribe(channel: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    if (!isValidChannel(channel)) throw new TetherError(ErrorCode.InvalidChannel, `invalid channel name '${channel}'`);
    if (channel === this.inboxSub.channel)
      throw new TypeError(`TetherClient: ${channel} is the inbox: use client.inbox`);
    if (this.subs.has(channel)) throw new TypeError(`TetherClient: already subscribed to ${channel}`);
    const sub = this.newSubscription(channel, handler, options);
    this.subs.set(channel, sub);
    if (options.since === undefined) this.loadPosition(sub);
    void this.whenLoaded().then(() => {
      if (this.connector.link.connected) void this.subscribeOnServer(sub);
    });
    return sub;
  }

  /**
   * Publishes; queued while not connected (bounded), sent in order. Resolves with the offset;
   * rejects with a TetherError (`queue_full`, `forbidden`, `client_closed`…) — awaiting is optional.
   */
  publish(channel: string, type: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.closed) return rejected(new TetherError(ErrorCode.ClientClosed, 'the client is closed'));
    const frame: PubFrame = { channel, type, data, id: options.id ?? randomId() };
    if (options.ttl !== undefined) frame.ttl = options.ttl;
    if (options.critical !== undefined) frame.critical = options.critical;
    if (options.collapseKey !== undefined) frame.collapseKey = options.collapseKey;
    const checked = pubFrameSchema.safeParse(frame);
    if (!checked.success) {
      const code = isValidChannel(channel) ? ErrorCode.BadRequest : ErrorCode.InvalidChannel;
      return rejected(new TetherError(code, `invalid publish: ${checked.error.issues[0]?.message ?? 'malformed'}`));
    }
    const result = this.queue.add(frame);
    // Fire-and-forget publishing is common (typing indicators): a rejection nobody awaits (e.g. at
    // close()) must not become an unhandled rejection that ends a Node process.
    result.catch(() => {});
    return result;
  }

  metrics(): ClientMetrics {
    return this.stats.snapshot(this.queue.size);
  }

  /** Status changes as an async iterable (ends when the client is closed). */
  async *statusChanges(): AsyncIterableIterator<StatusChange> {
    const buffered: StatusChange[] = [];
    let wake: (() => void) | undefined;
    const off = this.events.on('status', (change) => {
      buffered.push(change);
      wake?.();
    });
    const onClose = (): void => wake?.();
    this.closeWakers.add(onClose);
    try {
      for (;;) {
        while (buffered.length > 0) {
          const change = buffered.shift()!;
          yield change;
          if (change.reason === StatusReason.Closed) return;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      off();
      this.closeWakers.delete(onClose);
    }
  }

  /** Closes for good: acks and positions are flushed, queued publishes reject with `client_closed`. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.acker.flush();
      this.acker.stop();
      this.connector.stop();
      for (const sub of [this.inboxSub, ...this.subs.values()]) sub.setState(SubscriptionState.Unsubscribed, 'closed');
      this.queue.rejectAll(new TetherError(ErrorCode.ClientClosed, 'the client was closed before this was published'));
      this.machine.set(ClientState.Disconnected, StatusReason.Closed, 'close() called');
      for (const wake of this.closeWakers) wake();
      pageEvents()?.removeEventListener('pagehide', this.onPageHide);
      await this.positionStore.flush();
    })();
    return this.closing;
  }

  // ---- subscriptions --------------------------------------------------------------------------

  private newSubscription(
    channel: string,
    handler: MessageHandler | undefined,
    options: SubscribeOptions,
  ): Subscription {
    const { gapTimeoutMs, handlerRetry, logger } = this.options;
    return new Subscription(
      channel,
      handler,
      options,
      this.subHost,
      options.since,
      { gapTimeoutMs, handlerRetry },
      (err) => logger.error('a subscription listener threw', err),
    );
  }

  private loadPosition(sub: Subscription): void {
    const load = (async () => {
      await this.userKnown();
      const stored = await this.positionStore.load(sub.channel);
      if (stored) sub.pipeline.adopt(stored);
    })().catch((err: unknown) => this.options.logger.warn('loading a position failed', err));
    this.loading.add(load);
    void load.finally(() => this.loading.delete(load));
  }

  private async whenLoaded(): Promise<void> {
    while (this.loading.size > 0) await Promise.all(this.loading);
  }

  private async subscribeOnServer(sub: Subscription): Promise<void> {
    if (this.requesting.has(sub) || sub.state === SubscriptionState.Unsubscribed) return;
    const since = sub.pipeline.position;
    const frame = since ? { channel: sub.channel, since } : { channel: sub.channel };
    const isSubReply = (value: unknown): value is SubReply =>
      isRecord(value) && typeof value['epoch'] === 'string' && typeof value['offset'] === 'number';
    this.requesting.add(sub);
    const outcome = await this.connector.link
      .request('sub', frame, this.options.probeTimeoutMs, isSubReply)
      .finally(() => this.requesting.delete(sub));
    if (isEnded(sub)) return;
    if (outcome.kind === 'reply') {
      sub.pipeline.adopt({ epoch: outcome.value.epoch, offset: outcome.value.offset });
      sub.setState(SubscriptionState.Subscribed, 'subscribed');
    } else if (outcome.kind === 'error') {
      this.subscriptionRefused(sub, outcome.error);
    }
  }

  private subscriptionRefused(sub: Subscription, error: TetherError): void {
    if (SUB_FATAL.has(error.code) && sub !== this.inboxSub) {
      this.subs.delete(sub.channel);
      sub.setState(SubscriptionState.Unsubscribed, 'refused', error);
      sub.fail(error);
      return;
    }
    this.emitError(error, sub.channel);
    setTimeout(() => {
      if (this.connector.link.connected && sub.state !== SubscriptionState.Unsubscribed)
        void this.subscribeOnServer(sub);
    }, SUB_RETRY_MS);
  }

  private async unsubscribe(sub: Subscription): Promise<void> {
    if (sub === this.inboxSub) throw new TypeError('TetherClient: the inbox cannot be unsubscribed');
    if (this.subs.get(sub.channel) !== sub) return;
    this.subs.delete(sub.channel);
    sub.setState(SubscriptionState.Unsubscribed, 'unsubscribe');
    this.acker.forget(sub.channel);
    this.connector.link.send('unsub', { channel: sub.channel });
    await this.positionStore.flush();
  }

  /** Messages ahead of the position waited too long: ask for what follows it again. */
  private requestGap(sub: Subscription, position: Position): void {
    this.stats.add('gapsRequested');
    this.options.logger.debug('asking for a gap', { channel: sub.channel, after: position.offset });
    // Not connected: the next poll or handshake asks from the position anyway. A `sub` in flight
    // brings its replay; the gap timer asks again if that is not enough.
    if (!this.connector.link.connected || this.requesting.has(sub)) return;
    // A `sub` of a channel already subscribed only returns its head: leave it, then resume from the position.
    this.connector.link.send('unsub', { channel: sub.channel });
    void this.subscribeOnServer(sub);
  }

  private all(): Subscription[] {
    return this.inboxSub.channel ? [this.inboxSub, ...this.subs.values()] : [...this.subs.values()];
  }

  private byChannel(channel: string): Subscription | undefined {
    return channel === this.inboxSub.channel ? this.inboxSub : this.subs.get(channel);
  }

  // ---- connection -----------------------------------------------------------------------------

  private handshakePositions(): Positions {
    const positions: Positions = {};
    this.handshaked = new Set();
    for (const sub of this.all()) {
      const position = sub.pipeline.position;
      if (position === undefined) continue;
      positions[sub.channel] = position;
      this.handshaked.add(sub.channel);
    }
    return positions;
  }

  private async pollPositions(): Promise<Positions> {
    await Promise.all(this.all().map((sub) => sub.pipeline.settled()));
    const positions: Positions = {};
    for (const sub of this.all()) {
      // A channel without a position: an offset beyond any head makes the server answer with a
      // `resync` to its head (the inbox is answered with its head without asking).
      const expected = sub.pipeline.expected;
      if (expected) positions[sub.channel] = expected;
      else if (sub !== this.inboxSub) positions[sub.channel] = { offset: Number.MAX_SAFE_INTEGER };
    }
    return positions;
  }

  private opened(): void {
    for (const sub of this.all()) {
      if (this.handshaked.has(sub.channel)) sub.setState(SubscriptionState.Subscribed, 'subscribed');
      else void this.whenLoaded().then(() => this.subscribeOnServer(sub));
    }
    this.queue.start((frame) =>
      this.connector.link.request('pub', frame, this.options.publishQueue.timeoutMs, isPubReply),
    );
    this.acker.flush();
  }

  private lost(): void {
    this.queue.pause();
    for (const sub of this.all()) sub.setState(SubscriptionState.Subscribing, 'disconnected');
  }

  private onMsg(frame: MsgFrame): void {
    this.stats.add('received', frame.messages.length);
    const { epoch, messages, upTo } = frame;
    this.byChannel(frame.channel)?.pipeline.push(
      upTo === undefined ? { kind: 'messages', epoch, messages } : { kind: 'messages', epoch, messages, upTo },
    );
  }

  private onResync(frame: ResyncFrame): void {
    this.byChannel(frame.channel)?.pipeline.push({ kind: 'resync', epoch: frame.epoch, offset: frame.offset });
  }

  private onPollEntry(channel: string, entry: PollEntry): void {
    const sub = this.byChannel(channel);
    if (!sub) return;
    if (sub.state === SubscriptionState.Subscribing) sub.setState(SubscriptionState.Subscribed, 'polling');
    if ('resync' in entry) {
      const { epoch, offset } = entry.resync;
      // Our own "where is the head?" question (see pollPositions) is not a resync for the app.
      if (sub.pipeline.expected === undefined) sub.pipeline.adopt({ epoch, offset });
      else sub.pipeline.push({ kind: 'resync', epoch, offset });
      return;
    }
    this.stats.add('received', entry.messages.length);
    sub.pipeline.push({ kind: 'messages', epoch: entry.epoch, messages: entry.messages, upTo: entry.upTo });
  }

  private onServerError(frame: ErrorFrame): void {
    const error = new TetherError(isErrorCode(frame.code) ? frame.code : ErrorCode.Internal, frame.message);
    const sub = frame.channel === undefined ? undefined : this.byChannel(frame.channel);
    if (sub) return this.subscriptionRefused(sub, error);
    // An expiry is the connector's business: it refreshes and reconnects, or fails with it.
    if (error.code !== ErrorCode.TokenExpired) this.emitError(error, frame.channel);
  }

  private emitError(error: TetherError, channel?: string): void {
    this.options.logger.debug(`error ${error.code}: ${error.message}`, channel);
    this.events.emit('error', channel === undefined ? { error } : { error, channel });
  }

  // ---- preparation ----------------------------------------------------------------------------

  /** The device id, the user (from the token), stored positions and a persisted queue, once. */
  private prepare(): Promise<void> {
    this.preparing ??= (async () => {
      this.device = this.options.deviceId ?? (await this.storedDeviceId());
      await this.userKnown();
      await this.whenLoaded();
    })();
    this.preparing.catch(() => (this.preparing = undefined));
    return this.preparing;
  }

  private async userKnown(): Promise<void> {
    if (this.positionStore.ready) return;
    if (!this.tokens.current) await this.tokens.get();
    const user = this.tokens.current;
    if (user && !this.positionStore.ready) this.bindUser(user.tenant, user.sub);
  }

  private bindUser(tenant: string, sub: string): void {
    this.positionStore.setUser(tenant, sub);
    this.inboxSub.bind(inboxOf(sub));
    this.loadPosition(this.inboxSub);
    const { storagePrefix, url } = this.options;
    const restore = this.queue.restore(`${storagePrefix}:queue:${url}:${tenant}:${sub}`);
    this.loading.add(restore);
    void restore.finally(() => this.loading.delete(restore));
  }

  private async storedDeviceId(): Promise<string> {
    const key = `${this.options.storagePrefix}:device:${this.options.url}`;
    try {
      const stored = parseStored(await this.storage.load(key));
      if (typeof stored === 'string' && stored.length > 0 && stored.length <= 128) return stored;
      const fresh = randomId();
      await this.storage.save(key, JSON.stringify(fresh));
      return fresh;
    } catch (err) {
      this.options.logger.warn('device id storage failed; using a new id', err);
      return randomId();
    }
  }

  private whenReady(): Promise<void> {
    const state = this.machine.state;
    if (state === ClientState.Connected || state === ClientState.Fallback) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const off = this.events.on('status', (change) => {
        if (change.to === ClientState.Connected || change.to === ClientState.Fallback) {
          off();
          resolve();
        } else if (change.to === ClientState.Failed || change.to === ClientState.Disconnected) {
          off();
          reject(change.error ?? new TetherError(ErrorCode.ClientClosed, change.message));
        }
      });
    });
  }
}

function isPubReply(value: unknown): value is PubReply {
  return isRecord(value) && typeof value['offset'] === 'number' && typeof value['epoch'] === 'string';
}

interface PageEvents {
  addEventListener(type: 'pagehide', listener: () => void): void;
  removeEventListener(type: 'pagehide', listener: () => void): void;
}

/** A browser page's global event target (for `pagehide`); undefined in Node and workers without one. */
function pageEvents(): PageEvents | undefined {
  const target = globalThis as Partial<PageEvents>;
  return typeof target.addEventListener === 'function' && typeof target.removeEventListener === 'function'
    ? (target as PageEvents)
    : undefined;
}

/** Reads the state afresh (TypeScript would keep a narrowing across an await). */
function isEnded(sub: Subscription): boolean {
  return sub.state === SubscriptionState.Unsubscribed;
}

function rejected<T>(error: TetherError): Promise<T> {
  const promise = Promise.reject<T>(error);
  promise.catch(() => {});
  return promise;
}
