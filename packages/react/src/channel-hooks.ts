/**
 * The channel hooks. Each holds its channel's shared entry (registry.ts) while it is mounted, so
 * every hook on one channel of one client uses one subscription; each reads a snapshot with
 * `useSyncExternalStore`, so what renders is always what the SDK said last.
 */
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type {
  EventMap,
  MessageHandler,
  PresenceMember,
  PresenceStatus,
  Subscription,
  SubscriptionState,
  TetherError,
  TypedMessage,
  UntypedEvents,
} from '@tether/client';
import { EMPTY_MESSAGES, type ChannelEntry, type ChannelSnapshot, type MessageListener } from './channel-entry.js';
import type { MessagesSnapshot } from './message-store.js';
import { useTether } from './provider.js';

/** Messages kept by `useMessages` when no `limit` is given. */
export const DEFAULT_MESSAGES_LIMIT = 50;

const NOT_OPEN: Omit<ChannelSnapshot, 'channel'> = Object.freeze({
  state: 'subscribing',
  error: undefined,
  members: [],
  memberCount: 0,
  typists: [],
  readers: new Map<string, number>(),
});
const initialSnapshots = new Map<string, ChannelSnapshot>();

/** A stable "not open yet" snapshot per channel (a new object per render would loop). */
function notOpen(channel: string): ChannelSnapshot {
  let snapshot = initialSnapshots.get(channel);
  if (!snapshot) {
    if (initialSnapshots.size > 1000) initialSnapshots.clear();
    initialSnapshots.set(channel, (snapshot = Object.freeze({ channel, ...NOT_OPEN })));
  }
  return snapshot;
}

/**
 * Holds `channel`'s entry while mounted and renders its snapshot. `watch` picks what to watch of the
 * entry (its snapshot, or its message store) and `read` what to render; both may change only
 * with `channel` and `key`.
 */
function useChannelStore<T>(
  channel: string,
  watch: (entry: ChannelEntry, onChange: () => void) => () => void,
  read: (entry: ChannelEntry | undefined) => T,
  key = '',
): T {
  const { registry } = useTether();
  const subscribe = useCallback(
    (onChange: () => void) => {
      const entry = registry.acquire(channel);
      const off = watch(entry, onChange);
      return () => {
        off();
        registry.release(entry);
      };
    },
    // `watch` and `read` depend on nothing but `channel` and `key`.
    [registry, channel, key],
  );
  const getSnapshot = useCallback(() => read(registry.peek(channel)), [registry, channel, key]);
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}

const watchEntry = (entry: ChannelEntry, onChange: () => void): (() => void) => entry.subscribe(onChange);

function useChannelSnapshot(channel: string): ChannelSnapshot {
  return useChannelStore(channel, watchEntry, (entry) => entry?.snapshot ?? notOpen(channel));
}

export interface ChannelHandle {
  /** The shared subscription (undefined before the first effect, or when it could not start). */
  subscription: Subscription | undefined;
  state: SubscriptionState;
  /** Why the subscription ended or could not start (`forbidden`, `invalid_channel`…). */
  error: TetherError | undefined;
}

/**
 * Subscribes to `channel` while mounted and hands each message to `handler` once, in offset
 * order (the latest `handler` is called; changing it does not resubscribe). A handler that throws
 * or rejects is retried by the SDK (the other components' handlers do not see the message twice).
 * `useChannel<ChatEvents>('room:1', (m) => …)` types `m` by `m.type`.
 */
export function useChannel<E extends EventMap = UntypedEvents>(
  channel: string,
  handler: MessageHandler<E>,
): ChannelHandle {
  const { registry } = useTether();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const entry = registry.acquire(channel);
    const listener: MessageListener = (message) => latest.current(message as TypedMessage<E>);
    const off = entry.listen(listener);
    return () => {
      off();
      registry.release(entry);
    };
  }, [registry, channel]);
  const snapshot = useChannelSnapshot(channel);
  const subscription = registry.peek(channel)?.subscription;
  return useMemo(
    () => ({ subscription, state: snapshot.state, error: snapshot.error }),
    [subscription, snapshot.state, snapshot.error],
  );
}

export interface MessagesOptions {
  /** The newest this many are kept (history, then live). Default 50. */
  limit?: number;
}

export interface MessagesState<E extends EventMap = UntypedEvents> {
  /** Oldest first, each once (by offset and id) across history, live, reconnects and replays. */
  messages: readonly TypedMessage<E>[];
  /** True until the first page of history is in. */
  loading: boolean;
  /** The last history read failed (it is read again on the next (re)subscribe). */
  error: TetherError | undefined;
}

/**
 * The newest `limit` messages of `channel`: its history, then live messages as they are handled,
 * each once. Components on one channel share one list (and one history read).
 */
export function useMessages<E extends EventMap = UntypedEvents>(
  channel: string,
  options: MessagesOptions = {},
): MessagesState<E> {
  const limit = options.limit ?? DEFAULT_MESSAGES_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`useMessages: limit must be ≥ 1, got ${limit}`);
  const watch = useCallback(
    (entry: ChannelEntry, onChange: () => void) => entry.messages(limit)?.subscribe(onChange) ?? (() => {}),
    [limit],
  );
  const snapshot: MessagesSnapshot = useChannelStore(
    channel,
    watch,
    (entry) => entry?.messagesSnapshot ?? EMPTY_MESSAGES,
    String(limit),
  );
  const entryError = useChannelSnapshot(channel).error;
  return useMemo(() => {
    const messages = snapshot.messages.length > limit ? snapshot.messages.slice(-limit) : snapshot.messages;
    return {
      messages: messages as readonly TypedMessage<E>[],
      loading: snapshot.loading && entryError === undefined,
      error: snapshot.error ?? entryError,
    };
  }, [snapshot, limit, entryError]);
}

export interface PresenceState {
  /** The channel's members (users, with status and device count); [] until the server's snapshot. */
  members: readonly PresenceMember[];
  /** Users in the channel (also on a counts-only channel). */
  count: number;
  /** This user's status over its devices. */
  status: PresenceStatus;
  /** `busy` by hand, or `null` to go back to the status activity gives (`client.presence.set`). */
  setStatus: (status: 'busy' | null) => void;
  state: SubscriptionState;
  error: TetherError | undefined;
}

/**
 * The channel's members while mounted, and the user's own status with its setter. The membership
 * is the channel's one subscription: two components on one channel are one member, and one of
 * them unmounting does not leave for the other.
 */
export function usePresence(channel: string): PresenceState {
  const { client, stores } = useTether();
  const snapshot = useChannelSnapshot(channel);
  const own = stores.ownStatus;
  const status = useSyncExternalStore(
    own.subscribe,
    () => own.snapshot,
    () => own.snapshot,
  );
  const setStatus = useCallback((next: 'busy' | null) => client.presence.set(next), [client]);
  return useMemo(
    () => ({
      members: snapshot.members,
      count: snapshot.memberCount,
      status,
      setStatus,
      state: snapshot.state,
      error: snapshot.error,
    }),
    [snapshot, status, setStatus],
  );
}

export interface TypingState {
  /** Users typing in the channel now, in the order they started (this user's own devices left out). */
  typists: readonly string[];
  /** Tells the others this user is typing: call it on every keystroke; at most one frame per `typingThrottleMs`. */
  typing: () => void;
}

/** Who is typing in `channel`, and the throttled `typing()` to say this user is. */
export function useTyping(channel: string): TypingState {
  const { registry } = useTether();
  const snapshot = useChannelSnapshot(channel);
  const typing = useCallback(() => registry.peek(channel)?.subscription?.typing(), [registry, channel]);
  return useMemo(() => ({ typists: snapshot.typists, typing }), [snapshot.typists, typing]);
}

export interface ReadReceiptsState {
  /** Read positions by user, from the `read` notices heard since the channel opened here (others, and this user's other devices). */
  readers: ReadonlyMap<string, number>;
  /** Marks the channel read up to `offset` (default: the last message handled) for the user, on every device. */
  markRead: (offset?: number) => Promise<number>;
}

/**
 * Read receipts of `channel`: who read how far ("seen by"), and `markRead` for this user. The
 * server keeps each user's position (monotonic, all devices); notices heard before this channel
 * opened here are not known (the user's own position: `useUnread`).
 */
export function useReadReceipts(channel: string): ReadReceiptsState {
  const { client, registry } = useTether();
  const snapshot = useChannelSnapshot(channel);
  const markRead = useCallback(
    (offset?: number) => {
      const subscription = registry.peek(channel)?.subscription;
      if (subscription) return subscription.markRead(offset);
      return offset === undefined ? Promise.resolve(0) : client.markRead(channel, offset);
    },
    [client, registry, channel],
  );
  return useMemo(() => ({ readers: snapshot.readers, markRead }), [snapshot.readers, markRead]);
}
