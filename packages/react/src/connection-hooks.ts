/** The client-wide hooks: the connection's status, and the unread counts. */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { ClientState, ErrorCode, TetherError, type UnreadCount } from '@tether/client';
import type { ConnectionSnapshot } from './client-stores.js';
import { useTether } from './provider.js';

/**
 * The connection: `status` (`fallback` while messages come by HTTP long-poll because the socket
 * cannot connect), `quality` from the RTT probe, and `serverDown` (attempts failed in a row, until
 * the socket connects again), with the reason and error of the last change.
 */
export function useConnectionStatus(): ConnectionSnapshot {
  const store = useTether().stores.connection;
  const read = useCallback(() => store.snapshot, [store]);
  return useSyncExternalStore(store.subscribe, read, read);
}

export interface UnreadState {
  /** `{ head, read, unread }` by channel: the channels asked for, or every channel the user has read in. */
  counts: Readonly<Record<string, UnreadCount>>;
  /** The sum of `unread` over `counts`. */
  total: number;
  /** The last question to the server failed with this. */
  error: TetherError | undefined;
  /** Asks the server again (it is asked on mount and after every reconnect). */
  refresh: () => Promise<void>;
}

/**
 * Unread counts (`head − read position`): asked of the server on mount and on every (re)connect,
 * then kept current by the client (messages handled on subscribed channels, reads on any device).
 * `channels` limits the answer (and the question) to those; default every channel the user has read in.
 */
export function useUnread(channels?: readonly string[]): UnreadState {
  const { client, stores } = useTether();
  const store = stores.unread;
  const read = useCallback(() => store.snapshot, [store]);
  const all = useSyncExternalStore(store.subscribe, read, read);
  const [error, setError] = useState<TetherError | undefined>(undefined);
  const key = channels === undefined ? undefined : JSON.stringify([...channels].sort());

  const refresh = useCallback(async () => {
    const asked = key === undefined ? undefined : (JSON.parse(key) as string[]);
    try {
      await store.ask(asked);
      setError(undefined);
    } catch (err) {
      setError(TetherError.from(err, ErrorCode.Internal));
    }
  }, [store, key]);

  useEffect(() => {
    void refresh();
    return client.on('status', ({ to }) => {
      if (to === ClientState.Connected) void refresh();
    });
  }, [client, refresh]);

  return useMemo(() => {
    const wanted = key === undefined ? undefined : new Set(JSON.parse(key) as string[]);
    const counts: Record<string, UnreadCount> = {};
    let total = 0;
    for (const [channel, count] of Object.entries(all)) {
      if (wanted && !wanted.has(channel)) continue;
      counts[channel] = count;
      total += count.unread;
    }
    return { counts, total, error, refresh };
  }, [all, key, error, refresh]);
}
