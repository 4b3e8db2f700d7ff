/**
 * One channel of one client as the hooks share it: the one SDK subscription (so one presence
 * membership), the message listeners of the components using it, and snapshots of what they
 * render (state, members, typists, messages). The registry (registry.ts) counts its users and
 * closes it when the last one has gone.
 */
import {
  ErrorCode,
  SubscriptionState,
  TetherError,
  type Message,
  type PresenceMember,
  type Subscription,
  type TetherClient,
} from '@tether/client';
import { Listeners } from './listeners.js';
import { MessageStore, type MessagesSnapshot } from './message-store.js';

/** A component's handler of a channel's messages (`useChannel`). */
export type MessageListener = (message: Message) => void | Promise<void>;

export interface ChannelSnapshot {
  channel: string;
  /** The subscription's state; `unsubscribed` with an `error` when it was refused or could not start. */
  state: SubscriptionState;
  error: TetherError | undefined;
  /** The channel's members (a channel with presence); [] until the server's snapshot. */
  members: readonly PresenceMember[];
  /** Users in the channel (also on a counts-only channel). */
  memberCount: number;
  /** Users typing now, in the order they started (this user's own devices left out). */
  typists: readonly string[];
  /** Read positions heard since the channel opened here (`read` notices: other members, and this user on other devices). */
  readers: ReadonlyMap<string, number>;
}

export const EMPTY_MESSAGES: MessagesSnapshot = Object.freeze({ messages: [], loading: true, error: undefined });

export class ChannelEntry {
  /** Undefined when `client.subscribe` refused (see `snapshot.error`). */
  readonly subscription: Subscription | undefined;
  private users = 0;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<MessageListener>();
  /** The last offset each listener handled: a message the SDK retries (another listener failed) is not handed twice. */
  private readonly handledBy = new Map<MessageListener, number>();
  private readonly changes = new Listeners();
  private readonly offs: (() => void)[] = [];
  private store: MessageStore | undefined;
  private current: ChannelSnapshot;

  constructor(
    client: TetherClient,
    readonly channel: string,
  ) {
    let subscription: Subscription | undefined;
    let error: TetherError | undefined;
    try {
      subscription = openSubscription(client, channel, this.dispatch);
    } catch (err) {
      error = TetherError.from(err, ErrorCode.BadRequest);
    }
    this.subscription = subscription;
    this.current = {
      channel,
      state: subscription?.state ?? SubscriptionState.Unsubscribed,
      error,
      members: subscription?.members() ?? [],
      memberCount: subscription?.memberCount ?? 0,
      typists: subscription?.typists() ?? [],
      readers: new Map(),
    };
    if (subscription) this.watch(subscription);
  }

  get snapshot(): ChannelSnapshot {
    return this.current;
  }

  get messagesSnapshot(): MessagesSnapshot {
    return this.store?.snapshot ?? EMPTY_MESSAGES;
  }

  /** Tells `onChange` of every change of `snapshot`; returns its removal. */
  subscribe(onChange: () => void): () => void {
    return this.changes.add(onChange);
  }

  /** Hands every message handled from now on to `listener` too; returns its removal. */
  listen(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.handledBy.delete(listener);
    };
  }

  /** The channel's message store (history then live), made on first use; it keeps the largest `limit` asked. */
  messages(limit: number): MessageStore | undefined {
    const subscription = this.subscription;
    if (!subscription) return undefined;
    if (!this.store) {
      const store = new MessageStore(subscription, limit);
      this.store = store;
      this.listen((message) => store.add(message));
    }
    this.store.want(limit);
    this.store.readHistoryWhenSubscribed();
    return this.store;
  }

  /** @internal The registry's count of users: one more (a pending release is called off). */
  hold(): void {
    this.users++;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
  }

  /** @internal One user fewer; at none, `close` runs after `delayMs` unless a user comes back first. */
  drop(delayMs: number, close: () => void): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      if (this.users === 0) close();
    }, delayMs);
  }

  /** @internal Ends the subscription (the registry forgot this entry); the inbox stays. */
  close(client: TetherClient): void {
    clearTimeout(this.releaseTimer);
    for (const off of this.offs.splice(0)) off();
    const subscription = this.subscription;
    if (!subscription || subscription === client.inbox) return;
    if (subscription.state !== SubscriptionState.Unsubscribed) subscription.unsubscribe().catch(() => {});
  }

  /** The subscription's one handler: every listener, each once per message; a failure makes the SDK retry. */
  private readonly dispatch = async (message: Message): Promise<void> => {
    const failures: unknown[] = [];
    await Promise.all(
      [...this.listeners].map(async (listener) => {
        if ((this.handledBy.get(listener) ?? 0) >= message.offset) return;
        try {
          await listener(message);
          if (this.listeners.has(listener)) this.handledBy.set(listener, message.offset);
        } catch (err) {
          failures.push(err);
        }
      }),
    );
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1)
      throw new AggregateError(failures, `${failures.length} handlers of ${this.channel} failed`);
  };

  private watch(subscription: Subscription): void {
    this.offs.push(
      subscription.on('state', ({ to, error }) => {
        this.update({ state: to, error: to === SubscriptionState.Unsubscribed ? error : undefined });
        this.store?.stateChanged();
      }),
      subscription.on('members', ({ members, count }) => this.update({ members, memberCount: count })),
      subscription.on('typing', () => this.update({ typists: subscription.typists() })),
      subscription.on('typingStopped', () => this.update({ typists: subscription.typists() })),
      subscription.on('read', ({ sub, offset }) => {
        if ((this.current.readers.get(sub) ?? 0) >= offset) return;
        this.update({ readers: new Map(this.current.readers).set(sub, offset) });
      }),
      subscription.on('resync', () => {
        // Offsets start again: what each listener handled says nothing about the new log.
        this.handledBy.clear();
        this.store?.resync();
      }),
    );
  }

  private update(change: Partial<ChannelSnapshot>): void {
    this.current = { ...this.current, ...change };
    this.changes.notify();
  }
}

/**
 * `client.subscribe`, or the inbox (subscribed by the client itself, never twice): its handler
 * becomes this entry's, and stays when the entry closes.
 */
function openSubscription(client: TetherClient, channel: string, handler: MessageListener): Subscription {
  if (channel !== '' && channel === client.inbox.channel) {
    client.inbox.setHandler(handler);
    return client.inbox;
  }
  return client.subscribe(channel, handler);
}
