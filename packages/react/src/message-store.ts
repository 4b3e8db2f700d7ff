/**
 * The messages of one channel for `useMessages`: the newest page of history, then live messages as
 * the channel's subscription hands them over, in offset order, each at most once. History and live
 * overlap (a message published while history is read arrives both ways) and a replay after a
 * reconnect may repeat what history already brought: a message is kept by its offset, and a second
 * one with the same offset or the same `id` (the publisher's idempotency key) is dropped, so it
 * renders once. History is read only once the subscription is confirmed (its live start is then
 * fixed), so nothing falls between the two; a `resync` (the log restarted, offsets start again)
 * empties the list and reads history again.
 */
import { SubscriptionState, TetherError, ErrorCode, type Message, type Subscription } from '@tether/client';
import { Listeners } from './listeners.js';

export interface MessagesSnapshot {
  /** Oldest first; at most the largest `limit` asked for on this channel. */
  messages: readonly Message[];
  /** True until the first page of history is in (or failed). */
  loading: boolean;
  /** The last history read failed with this (it is read again on the next (re)subscribe). */
  error: TetherError | undefined;
}

/** One page of history at most this many (the server's default `maxHistoryLimit`). */
const HISTORY_PAGE = 100;

export class MessageStore {
  private readonly byOffset = new Map<number, Message>();
  private readonly ids = new Set<string>();
  private readonly listeners = new Listeners();
  private limit: number;
  private loaded = false;
  private reading: Promise<void> | undefined;
  /** Bumped by a resync: a history read begun before it is dropped. */
  private generation = 0;
  private current: MessagesSnapshot = { messages: [], loading: true, error: undefined };

  constructor(
    private readonly subscription: Subscription,
    limit: number,
  ) {
    this.limit = limit;
  }

  get snapshot(): MessagesSnapshot {
    return this.current;
  }

  subscribe(onChange: () => void): () => void {
    return this.listeners.add(onChange);
  }

  /** A caller wants `limit` messages: the store keeps the largest asked for. */
  want(limit: number): void {
    if (limit <= this.limit) return;
    this.limit = limit;
    if (this.loaded) {
      // More history than first read: read again (what is already held is deduplicated).
      this.loaded = false;
      this.readHistoryWhenSubscribed();
    }
  }

  /** A live message from the subscription. */
  add(message: Message): void {
    if (this.keep(message)) this.publish();
  }

  /** The subscription's state changed: read history once it is confirmed. */
  stateChanged(): void {
    this.readHistoryWhenSubscribed();
  }

  /** The log restarted: offsets start again, so what is held no longer fits; read history anew. */
  resync(): void {
    this.generation++;
    this.byOffset.clear();
    this.ids.clear();
    this.loaded = false;
    this.reading = undefined;
    this.current = { messages: [], loading: true, error: undefined };
    this.listeners.notify();
    this.readHistoryWhenSubscribed();
  }

  readHistoryWhenSubscribed(): void {
    if (this.loaded || this.reading || this.subscription.state !== SubscriptionState.Subscribed) return;
    const generation = this.generation;
    this.reading = this.readHistory(generation).finally(() => {
      if (generation === this.generation) this.reading = undefined;
    });
  }

  private async readHistory(generation: number): Promise<void> {
    let error: TetherError | undefined;
    try {
      let before: number | undefined;
      let read = 0;
      const found: Message[] = [];
      while (read < this.limit) {
        const limit = Math.min(HISTORY_PAGE, this.limit - read);
        const page = await this.subscription.history(before === undefined ? { limit } : { limit, before });
        if (generation !== this.generation) return;
        found.push(...page.messages);
        read += page.messages.length;
        if (page.next === null || page.messages.length === 0) break;
        before = page.next;
      }
      for (const message of found) this.keep(message);
      this.loaded = true;
    } catch (err) {
      if (generation !== this.generation) return;
      error = TetherError.from(err, ErrorCode.Internal);
    }
    this.publish(error);
  }

  /** Holds `message` unless it is held already or older than what the limit keeps. */
  private keep(message: Message): boolean {
    if (this.byOffset.has(message.offset) || this.ids.has(message.id)) return false;
    if (this.byOffset.size >= this.limit) {
      const oldest = Math.min(...this.byOffset.keys());
      if (message.offset < oldest) return false;
      const dropped = this.byOffset.get(oldest);
      this.byOffset.delete(oldest);
      if (dropped) this.ids.delete(dropped.id);
    }
    this.byOffset.set(message.offset, message);
    this.ids.add(message.id);
    return true;
  }

  private publish(error?: TetherError): void {
    const messages = [...this.byOffset.values()].sort((a, b) => a.offset - b.offset);
    this.current = { messages, loading: !this.loaded && error === undefined, error };
    this.listeners.notify();
  }
}
