/**
 * `TetherClient`, the composition root: options, storage, token, the state machine, the
 * connector (socket, fallback, heartbeat), the subscriptions and the publish queue, wired together.
 * The delivery logic lives in the pipeline, the connection logic in the connector.
 */
import {
  registerPushTarget,
  unregisterPushTarget,
  type PushRegistration,
  type PushTarget,
  type PushTargetMatch,
} from './push-targets.js';
import {
  ErrorCode,
  TetherError,
  inboxOf,
  isValidChannel,
  isPubFrame,
  type PubFrame,
  type PubReply,
} from '@tether/protocol/wire';
import { Acker } from './acker.js';
import { Connector } from './connector.js';
import { TypedEmitter } from './emitter.js';
import { randomId } from './ids.js';
import { MetricsRecorder, type ClientMetrics } from './metrics.js';
import { resolveOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import type { EventMap, PublishArgs, UntypedEvents } from './events.js';
import type { MessageHandler, ResyncContext } from './pipeline.js';
import { PositionStore } from './positions.js';
import { PublishQueue, type PublishOptions, type PublishResult } from './publish-queue.js';
import { isRecord } from './socket-link.js';
import { ClientState, StateMachine, StatusReason, type StatusChange } from './state.js';
import { parseStored, resolveStorage, type KeyValueStorage } from './storage.js';
import type { StaleContext, SubscribeOptions, Subscription } from './subscription.js';
import { SubscriptionRegistry } from './subscriptions.js';
import { TokenSource } from './token.js';
import { fetchHistory, type HistoryOptions, type HistoryPage } from './history.js';
import type { ServerHttp } from './server-http.js';
import { ReadState, type ReadContext, type UnreadContext } from './read-state.js';
import { routeTyping } from './typing.js';
import type { UnreadCount } from '@tether/protocol/wire';
import { ClientPresence, isPresenceReply } from './presence.js';
import { ServerDownReporter, lastErrorOf } from './server-down-report.js';

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
  /** A message skipped as stale: expired in transit, or superseded by a message in hand (never handed to a handler; acked). */
  stale: StaleContext;
  serverDown: ServerDownContext;
  /** The user read a channel on another device (its read position moved): clear the badge. */
  read: ReadContext;
  /** A tracked channel's unread count changed (see `client.unread()`). */
  unread: UnreadContext;
}

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
  private readonly subscriptions: SubscriptionRegistry;
  private readonly readState: ReadState;
  /** The user's status: `busy` by hand, idle / away from activity (presence.ts). */
  readonly presence: ClientPresence;
  private device: string | undefined;
  private readonly downReporter: ServerDownReporter | undefined;
  private preparing: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
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
    this.subscriptions = new SubscriptionRegistry({
      options: this.options,
      link: () => this.connector.link,
      positionStore: this.positionStore,
      acker: this.acker,
      stats: this.stats,
      userKnown: () => this.userKnown(),
      resync: (context) => this.events.emit('resync', context),
      error: (error, channel) => this.emitError(error, channel),
      history: (channel, options) => this.history(channel, options),
      stale: (context) => this.events.emit('stale', context),
      social: {
        typingOptions: { expiryMs: this.options.typingExpiryMs, throttleMs: this.options.typingThrottleMs },
        typing: (channel) =>
          void this.connector.link.request('typing', { channel }, this.options.probeTimeoutMs, isEmpty),
        markRead: (channel, offset) => this.readState.markRead(channel, offset),
        readPosition: (channel) => this.readState.position(channel),
        handled: (channel, offset) => this.readState.handled(channel, offset),
      },
    });
    this.readState = new ReadState({
      link: () => this.connector.link,
      http: () => this.serverHttp(),
      ownSub: () => this.tokens.current?.sub,
      timeoutMs: this.options.probeTimeoutMs,
      ownRead: (context) => this.events.emit('read', context),
      unread: (context) => this.events.emit('unread', context),
      channelRead: (context) => this.subscriptions.find(context.channel)?.heardRead(context),
    });
    this.presence = new ClientPresence(this.options.presence, {
      connected: () => this.connector.link.connected,
      request: (frame) => this.connector.link.request('presence', frame, this.options.probeTimeoutMs, isPresenceReply),
      onListenerError: (err, event) => logger.error(`a presence '${String(event)}' listener threw`, err),
      debug: (message) => logger.debug(message),
    });
    const { reportUrl } = this.options;
    this.downReporter = reportUrl
      ? new ServerDownReporter(reportUrl, this.options.fetch, this.options.logger)
      : undefined;
    this.connector = new Connector(this.options, this.machine, this.stats, this.tokens, {
      prepared: () => this.prepare(),
      deviceId: () => this.device ?? '',
      handshakePositions: () => this.subscriptions.handshakePositions(),
      pollPositions: () => this.subscriptions.pollPositions(),
      opened: () => this.opened(),
      lost: () => this.lost(),
      msg: (frame) => this.subscriptions.msg(frame),
      resync: (frame) => this.subscriptions.resync(frame),
      presence: (frame) => this.subscriptions.find(frame.channel)?.presenceFrame(frame),
      serverError: (frame) => this.subscriptions.serverError(frame),
      pollEntry: (channel, entry) => this.subscriptions.pollEntry(channel, entry),
      protocolError: (error, channel) => {
        this.stats.add('protocolErrors');
        this.emitError(error, channel);
      },
      typing: (notice) => routeTyping(notice, this.tokens.current?.sub, (channel) => this.subscriptions.find(channel)),
      read: (notice) => this.readState.notice(notice),
      serverDown: (attempts, error, since, message) => {
        this.downReporter?.report({
          attempts,
          lastError: lastErrorOf(error, message),
          since,
          deviceId: this.device ?? '',
          url: this.options.url,
        });
        this.events.emit('serverDown', error ? { attempts, error } : { attempts });
      },
      error: (error) => this.emitError(error),
    });
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
    return this.subscriptions.inbox;
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

  /**
   * Subscribes to a channel; `handler` gets each message once, in offset order (it may return a
   * promise). `subscribe<TripEvents>(…)` narrows `message.data` by `message.type` (see `EventMap`).
   */
  subscribe<E extends EventMap = UntypedEvents>(
    channel: string,
    handler: MessageHandler<E>,
    options: SubscribeOptions = {},
  ): Subscription {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    if (!isValidChannel(channel)) throw new TetherError(ErrorCode.InvalidChannel, `invalid channel name '${channel}'`);
    if (this.subscriptions.has(channel)) throw new TypeError(`TetherClient: already subscribed to ${channel}`);
    this.presence.markActive();
    return this.subscriptions.add(channel, handler as MessageHandler, options);
  }

  /**
   * Publishes; queued while not connected (bounded), sent in order. Resolves with the offset;
   * rejects with a TetherError (`queue_full`, `forbidden`, `client_closed`…) — awaiting is optional.
   * `publish<TripEvents>('trip:1', 'trip:cancelled', { reason })` checks `data` against `type`.
   */
  publish<E extends EventMap = UntypedEvents>(channel: string, ...args: PublishArgs<E>): Promise<PublishResult>;
  publish(channel: string, type: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.closed) return rejected(new TetherError(ErrorCode.ClientClosed, 'the client is closed'));
    const frame: PubFrame = { channel, type, data, id: options.id ?? randomId() };
    if (options.ttl !== undefined) frame.ttl = options.ttl;
    if (options.critical !== undefined) frame.critical = options.critical;
    if (options.collapseKey !== undefined) frame.collapseKey = options.collapseKey;
    if (options.priority !== undefined && options.priority !== 'normal') frame.priority = options.priority;
    if (options.push !== undefined) frame.push = options.push;
    if (!isPubFrame(frame)) {
      const code = isValidChannel(channel) ? ErrorCode.BadRequest : ErrorCode.InvalidChannel;
      return rejected(
        new TetherError(code, `invalid publish to ${channel}: check type, id, ttl, collapseKey, priority and push`),
      );
    }
    this.presence.markActive();
    const result = this.queue.add(frame);
    // Fire-and-forget publishing is common (typing indicators): a rejection nobody awaits (e.g. at
    // close()) must not become an unhandled rejection that ends a Node process.
    result.catch(() => {});
    return result;
  }

  /**
   * A page of a channel's retained log, newest first (`GET /v1/history`, the same permission as
   * subscribing; no subscription needed). Page back with `{ before: page.next }` until `next` is null.
   */
  history<E extends EventMap = UntypedEvents>(channel: string, options: HistoryOptions = {}): Promise<HistoryPage<E>> {
    if (this.closed) return rejected(new TetherError(ErrorCode.ClientClosed, 'the client is closed'));
    return fetchHistory<E>(this.serverHttp(), channel, options);
  }

  /**
   * Unread counts (`head − read position`) of the named channels, or of every channel the user has
   * read in; over the socket, or `GET /v1/unread` when not connected. From then on these channels
   * are tracked: `client.on('unread')` tells each change (messages handled here, reads on any
   * device). Rejects with a TetherError (`forbidden` for a channel the user may not read…).
   */
  async unread(channels?: readonly string[]): Promise<Record<string, UnreadCount>> {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    return this.readState.unread(channels);
  }

  /**
   * Marks `channel` read up to `offset` for the user (every device; never moves back), subscribed
   * or not — e.g. from a list of conversations. `sub.markRead()` does the same for a subscription.
   * Resolves with the position after; over the socket, or `POST /v1/read` when not connected.
   */
  async markRead(channel: string, offset: number): Promise<number> {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    return this.readState.markRead(channel, offset);
  }

  /** The tracked unread counts now (channels asked with `unread()` or marked read here). */
  unreadCounts(): Record<string, UnreadCount> {
    return this.readState.counts();
  }

  /**
   * Registers a push target for the user (`POST /v1/push/devices`): the server pushes critical
   * events to it when no connection of the user takes them (docs/push.md). Registering again
   * refreshes it; a new token for the same provider and device replaces the old one. Rejects with
   * a TetherError (`push_provider_unknown`, `push_token_invalid`, `unauthorized`…).
   */
  async registerPush(target: PushTarget): Promise<PushRegistration> {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    await this.prepare();
    const deviceId = target.deviceId ?? this.device ?? randomId();
    return registerPushTarget(this.serverHttp(), { provider: target.provider, token: target.token, deviceId });
  }

  /** Removes push targets (`DELETE /v1/push/devices`): one, or by default every target of this device. Resolves with how many. */
  async unregisterPush(match?: PushTargetMatch): Promise<number> {
    if (this.closed) throw new TetherError(ErrorCode.ClientClosed, 'the client is closed');
    await this.prepare();
    return unregisterPushTarget(this.serverHttp(), match ?? { deviceId: this.device ?? '' });
  }

  /** The server, fetch and token for the SDK's own HTTP calls (history, push targets). */
  private serverHttp(): ServerHttp {
    return { url: this.options.url, fetch: this.options.fetch, token: () => this.tokens.get() };
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
      this.presence.close();
      this.subscriptions.closeAll();
      this.queue.rejectAll(new TetherError(ErrorCode.ClientClosed, 'the client was closed before this was published'));
      this.machine.set(ClientState.Disconnected, StatusReason.Closed, 'close() called');
      for (const wake of this.closeWakers) wake();
      pageEvents()?.removeEventListener('pagehide', this.onPageHide);
      await this.positionStore.flush();
    })();
    return this.closing;
  }

  // ---- connection ---------------------------------------------------------------------------------

  private opened(): void {
    this.subscriptions.opened();
    this.queue.start((frame) =>
      this.connector.link.request('pub', frame, this.options.publishQueue.timeoutMs, isPubReply),
    );
    this.acker.flush();
    this.presence.opened();
  }

  private lost(): void {
    this.queue.pause();
    this.presence.lost();
    this.subscriptions.lost();
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
      await this.subscriptions.whenLoaded();
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
    this.subscriptions.bindInbox(inboxOf(sub));
    const { storagePrefix, url } = this.options;
    this.subscriptions.track(this.queue.restore(`${storagePrefix}:queue:${url}:${tenant}:${sub}`));
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

function isEmpty(value: unknown): value is Record<string, never> {
  return isRecord(value);
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

function rejected<T>(error: TetherError): Promise<T> {
  const promise = Promise.reject<T>(error);
  promise.catch(() => {});
  return promise;
}
