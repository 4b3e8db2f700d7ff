/**
 * `TetherProvider`: one `TetherClient` per app, for every hook below it. Pass a `client` you made
 * (you close it), or `options` the provider makes one from, once, and closes when it unmounts.
 * The close waits `releaseDelayMs` too, so StrictMode's unmount → mount keeps the same client.
 */
import { createContext, createElement, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { TetherClient, type ClientOptions } from '@tether/client';
import { storesOf, type ClientStores } from './client-stores.js';
import { ChannelRegistry, DEFAULT_RELEASE_DELAY_MS } from './registry.js';

interface ProviderCommon {
  children?: ReactNode;
  /** Call `client.connect()` on mount (it is harmless on a client already connecting). Default true. */
  connect?: boolean;
  /** How long a channel's subscription outlives its last component (ms). Default 1000. */
  releaseDelayMs?: number;
  /** How often `useConnectionStatus` reads the connection quality again (ms). Default 5000. */
  qualityRefreshMs?: number;
}

export type TetherProviderProps = ProviderCommon &
  (
    | { /** A client the app made and closes itself. */ client: TetherClient; options?: never }
    | {
        /** Options of a client the provider makes (read once) and closes on unmount. */ options: ClientOptions;
        client?: never;
      }
  );

/** What the hooks get from the provider. */
export interface TetherContextValue {
  client: TetherClient;
  registry: ChannelRegistry;
  stores: ClientStores;
}

const TetherContext = createContext<TetherContextValue | undefined>(undefined);

export function TetherProvider(props: TetherProviderProps): ReactNode {
  const { children, connect = true } = props;
  const releaseDelayMs = props.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS;
  // Made once; with `options`, StrictMode may call this twice and keep one (the other never connects).
  const [owned] = useState(() => (props.client ? undefined : new TetherClient(props.options)));
  const client = props.client ?? owned;
  if (!client) throw new TypeError('TetherProvider: pass `client` or `options`');
  const current = useMemo(() => contextOf(client), [client]);
  current.registry.releaseDelayMs = releaseDelayMs;
  if (props.qualityRefreshMs !== undefined) current.stores.connection.qualityRefreshMs = props.qualityRefreshMs;

  useEffect(() => {
    if (connect) void client.connect();
  }, [client, connect]);

  useEffect(() => {
    if (!owned) return undefined;
    closer.cancel(owned);
    return () =>
      closer.schedule(owned, releaseDelayMs, () => {
        ChannelRegistry.of(owned).closeAll();
        void owned.close();
      });
  }, [owned, releaseDelayMs]);

  return createElement(TetherContext.Provider, { value: current }, children);
}

/** The provider's client, registry and stores; throws outside a `TetherProvider`. */
export function useTether(): TetherContextValue {
  const value = useContext(TetherContext);
  if (!value) throw new TypeError('Tether hooks need a <TetherProvider> above them');
  return value;
}

/** The provider's `TetherClient` (publish, markRead, history… directly). */
export function useTetherClient(): TetherClient {
  return useTether().client;
}

function contextOf(client: TetherClient): TetherContextValue {
  return { client, registry: ChannelRegistry.of(client), stores: storesOf(client) };
}

/** Closes owned clients after a delay, called off when the provider mounts again (StrictMode). */
const closer = {
  timers: new WeakMap<TetherClient, ReturnType<typeof setTimeout>>(),
  schedule(client: TetherClient, delayMs: number, close: () => void): void {
    this.cancel(client);
    this.timers.set(client, setTimeout(close, delayMs));
  },
  cancel(client: TetherClient): void {
    clearTimeout(this.timers.get(client));
    this.timers.delete(client);
  },
};
