/**
 * A subscription to one channel: its own state machine (one `setState` door, emitted as `state`),
 * its position, and the pipeline that hands its messages to the app's handler exactly once, in
 * order. Created by `client.subscribe()`; `client.inbox` is the user's own `user:<sub>`.
 */
import {
  ErrorCode,
  TetherError,
  type Message,
  type Position,
  type PresenceChannelFrame,
  type PresenceMember,
} from '@tether/protocol/wire';
import { ChannelMembers, type MembersEvents } from './channel-members.js';
import { TypedEmitter } from './emitter.js';
import type { EventMap, UntypedEvents } from './events.js';
import type { HistoryOptions, HistoryPage } from './history.js';
import type { ReadContext } from './read-state.js';
import { ChannelTyping, type TypingContext, type TypingOptions } from './typing.js';
import {
  ChannelPipeline,
  type MessageHandler,
  type PipelineOptions,
  type ResyncContext,
  type StaleReason,
} from './pipeline.js';

export const SubscriptionState = {
  /** Wanted, not (yet, or no longer) confirmed by the server: connecting, or waiting for the `sub` reply. */
  Subscribing: 'subscribing',
  /** Messages flow: confirmed on the socket, or polled over HTTP in fallback. */
  Subscribed: 'subscribed',
  /** Ended by `unsubscribe()`, by the server (`forbidden`…), or by `client.close()`. Final. */
  Unsubscribed: 'unsubscribed',
} as const;
export type SubscriptionState = (typeof SubscriptionState)[keyof typeof SubscriptionState];

export interface SubscriptionStateChange {
  channel: string;
  from: SubscriptionState;
  to: SubscriptionState;
  /** Why: `subscribe`, `subscribed`, `disconnected`, `unsubscribe`, `refused`, `closed`. */
  reason: string;
  error?: TetherError;
}

export interface SubscriptionErrorContext {
  channel: string;
  error: TetherError;
  /** The message whose handler failed, for `handler_failed`. */
  message?: Message;
}

/** A message skipped as stale: it arrived after its `expiresAt`, or a message in hand supersedes it. Never handed to the handler; acked. */
export interface StaleContext {
  channel: string;
  message: Message;
  reason: StaleReason;
}

/** A subscription's events; `join`, `leave`, `update`, `members`: its channel's presence (channel-members.ts). */
export interface SubscriptionEvents extends MembersEvents {
  state: SubscriptionStateChange;
  resync: ResyncContext;
  error: SubscriptionErrorContext;
  stale: StaleContext;
  /** A user started typing in the channel (not this user: its other devices are left out). */
  typing: TypingContext;
  /** …and stopped: no notice from them for `typingExpiryMs`. */
  typingStopped: TypingContext;
  /** A user (another member, or this user on another device) read the channel up to `offset`. */
  read: ReadContext;
}

export interface SubscribeOptions {
  /**
   * Start after this position (`{ offset: 0 }`: the whole retained log). Default: the position kept
   * in storage, else live from now.
   */
  since?: Position;
  /**
   * Called on `resync` (the log restarted, or the position fell out of retention) before any later
   * message of the channel: reload the channel's state here. May return a promise.
   */
  onResync?: (context: ResyncContext) => void | Promise<void>;
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  advanced(subscription: Subscription, position: Position): void;
  gap(subscription: Subscription, position: Position): void;
  resync(subscription: Subscription, context: ResyncContext): void;
  error(subscription: Subscription, context: SubscriptionErrorContext): void;
  stale(subscription: Subscription, context: StaleContext): void;
  count(counter: 'handled' | 'deduplicated' | 'handlerErrors'): void;
  unsubscribe(subscription: Subscription): Promise<void>;
  history(subscription: Subscription, options: HistoryOptions): Promise<HistoryPage>;
  typingOptions: TypingOptions;
  /** Sends a `typing` frame (throttling is the subscription's). */
  typing(subscription: Subscription): void;
  markRead(subscription: Subscription, offset: number): Promise<number>;
  readPosition(subscription: Subscription): number | undefined;
}

export class Subscription {
  private name: string;
  private current: SubscriptionState = SubscriptionState.Subscribing;
  private readonly events: TypedEmitter<SubscriptionEvents>;
  /** @internal The delivery pipeline; the client feeds it. */
  readonly pipeline: ChannelPipeline;
  private readonly typingState: ChannelTyping;
  private readonly presence = new ChannelMembers();

  /** @internal Made by the client's subscriptions; apps use `client.subscribe()`. */
  static create(
    channel: string,
    handler: MessageHandler | undefined,
    options: SubscribeOptions,
    host: SubscriptionHost,
    start: Position | undefined,
    pipelineOptions: PipelineOptions,
    onListenerError: (err: unknown) => void,
  ): Subscription {
    return new Subscription(channel, handler, options, host, start, pipelineOptions, onListenerError);
  }

  /** Use `client.subscribe()` (or `client.inbox`). */
  private constructor(
    channel: string,
    handler: MessageHandler | undefined,
    private readonly options: SubscribeOptions,
    private readonly host: SubscriptionHost,
    start: Position | undefined,
    pipelineOptions: PipelineOptions,
    onListenerError: (err: unknown) => void,
  ) {
    this.name = channel;
    this.events = new TypedEmitter<SubscriptionEvents>(onListenerError);
    const channelOf = (): string => this.name;
    this.typingState = new ChannelTyping(channelOf, host.typingOptions, (event, context) =>
      this.events.emit(event, context),
    );
    this.pipeline = new ChannelPipeline(
      {
        get channel() {
          return channelOf();
        },
        advanced: (position) => host.advanced(this, position),
        gap: (position) => host.gap(this, position),
        resync: (context) => this.onResync(context),
        error: (error, message) => this.fail(error, message),
        count: (counter) => host.count(counter),
        stale: (message, reason) => {
          const context: StaleContext = { channel: this.name, message, reason };
          this.events.emit('stale', context);
          host.stale(this, context);
        },
      },
      pipelineOptions,
      handler,
      start,
    );
  }

  /** The channel. For `client.inbox`, `''` until the user is known from the first token. */
  get channel(): string {
    return this.name;
  }

  get state(): SubscriptionState {
    return this.current;
  }

  /** The last position handled; undefined until the first message or the server's reply. */
  get position(): Position | undefined {
    return this.pipeline.position;
  }

  /** The channel's members (users, with status and device count), when it has presence; else []. */
  members(): PresenceMember[] {
    return this.presence.members();
  }

  /** Users in the channel (0 until the server's first presence frame). */
  get memberCount(): number {
    return this.presence.count;
  }

  /** @internal A `presence` frame of this channel. */
  presenceFrame(frame: PresenceChannelFrame): void {
    this.presence.apply(frame, <K extends keyof MembersEvents>(event: K, context: MembersEvents[K]) =>
      this.events.emit(event, context as SubscriptionEvents[K]),
    );
  }

  on<K extends keyof SubscriptionEvents>(event: K, listener: (context: SubscriptionEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof SubscriptionEvents>(event: K, listener: (context: SubscriptionEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Sets (or replaces) the handler. Messages wait, unhandled and unacked, while there is none.
   * `setHandler<InboxEvents>((m) => …)` types the payloads by `type` (see `EventMap`).
   */
  setHandler<E extends EventMap = UntypedEvents>(handler: MessageHandler<E>): void {
    this.pipeline.setHandler(handler as MessageHandler);
  }

  /**
   * A page of this channel's retained log, newest first (see `client.history`): positions, acks
   * and the handler are untouched. `history<TripEvents>()` types the messages as the handler's.
   */
  history<E extends EventMap = UntypedEvents>(options: HistoryOptions = {}): Promise<HistoryPage<E>> {
    return this.host.history(this, options) as Promise<HistoryPage<E>>;
  }

  /**
   * Tells the channel's other members that this user is typing (a `typing` notice, which expires on
   * their side after `typingExpiryMs`). Call it on every keystroke: at most one frame goes per
   * `typingThrottleMs`. Nothing is sent while not connected by socket.
   */
  typing(): void {
    if (this.current === SubscriptionState.Unsubscribed) return;
    if (this.typingState.take(Date.now())) this.host.typing(this);
  }

  /** The users typing in the channel now (this user's own devices left out). */
  typists(): string[] {
    return this.typingState.list();
  }

  /**
   * Marks the channel read up to `offset` (default: `sub.position`, the last message handled — or,
   * before any, where the subscription started, e.g. the head when it went live) for the user, on
   * every device; never moves the position back. Resolves with the position after.
   */
  markRead(offset?: number): Promise<number> {
    const target = offset ?? this.pipeline.position?.offset ?? 0;
    if (offset === undefined && target === 0) return Promise.resolve(this.host.readPosition(this) ?? 0);
    return this.host.markRead(this, target);
  }

  /** The user's read position in the channel as far as this client knows (undefined: not known yet). */
  get readPosition(): number | undefined {
    return this.host.readPosition(this);
  }

  /** @internal Someone else is typing here. */
  heardTyping(sub: string): void {
    if (this.current !== SubscriptionState.Unsubscribed) this.typingState.heard(sub);
  }

  /** @internal A read notice of this channel. */
  heardRead(context: ReadContext): void {
    this.events.emit('read', context);
  }

  /** Ends the subscription; messages not yet handled are dropped (and were not acked). */
  unsubscribe(): Promise<void> {
    return this.host.unsubscribe(this);
  }

  /** @internal Names the inbox once the user is known. */
  bind(channel: string): void {
    this.name = channel;
  }

  /** @internal The one door for this subscription's state. */
  setState(to: SubscriptionState, reason: string, error?: TetherError): void {
    const from = this.current;
    if (from === to || from === SubscriptionState.Unsubscribed) return;
    this.current = to;
    if (to === SubscriptionState.Unsubscribed) {
      this.pipeline.stop();
      this.typingState.clear();
    }
    const change: SubscriptionStateChange = { channel: this.name, from, to, reason };
    if (error) change.error = error;
    this.events.emit('state', change);
  }

  /** @internal Reports an error on this channel (to the subscription's and the client's listeners). */
  fail(error: TetherError, message?: Message): void {
    const context: SubscriptionErrorContext = { channel: this.name, error };
    if (message) context.message = message;
    this.events.emit('error', context);
    this.host.error(this, context);
  }

  private async onResync(context: ResyncContext): Promise<void> {
    this.events.emit('resync', context);
    this.host.resync(this, context);
    try {
      await this.options.onResync?.(context);
    } catch (err) {
      // A failing reload must not wedge the channel: report it and go on from the new position.
      this.fail(new TetherError(ErrorCode.HandlerFailed, `onResync failed on ${this.name}`, { cause: err }));
    }
  }
}
