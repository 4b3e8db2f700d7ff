/**
 * What the hooks read of the client as a whole, one store per client: the connection (status,
 * quality, serverDown), the user's own presence status, and the tracked unread counts. Each keeps
 * a snapshot object that changes only when what it says changes (`useSyncExternalStore` compares
 * by identity) and listens to the client only while a component does.
 */
import {
  ClientState,
  type ConnectionQuality,
  type PresenceStatus,
  type StatusReason,
  type TetherClient,
  type TetherError,
  type UnreadCount,
} from '@tether/client';
import { Listeners } from './listeners.js';

export interface ConnectionSnapshot {
  /** `disconnected`, `connecting`, `connected`, `reconnecting`, `fallback` (HTTP long-poll) or `failed`. */
  status: ClientState;
  /** From the SDK's RTT probe: excellent, good, fair, poor; unknown before the first probe. */
  quality: ConnectionQuality;
  /** True from the client's `serverDown` event (attempts failed in a row) until the socket connects again. */
  serverDown: boolean;
  /** Why the status last changed (a stable code); undefined before any change. */
  reason: StatusReason | undefined;
  /** The error behind a `failed` (or failure-caused) status. */
  error: TetherError | undefined;
}

/** How often the connection quality is read again while a component shows it (ms). */
export const DEFAULT_QUALITY_REFRESH_MS = 5000;

/** A store that attaches to the client while it has listeners. */
abstract class ClientStore<T> {
  protected readonly listeners = new Listeners();
  /** Read on first use (a subclass's fields are not set yet in this constructor). */
  private current: T | undefined;
  private detach: (() => void) | undefined;

  constructor(protected readonly client: TetherClient) {}

  get snapshot(): T {
    return (this.current ??= this.read());
  }

  subscribe = (onChange: () => void): (() => void) => {
    const off = this.listeners.add(onChange);
    if (this.listeners.size === 1) {
      this.detach = this.attach();
      this.refresh(); // changes while nobody listened
    }
    return () => {
      off();
      if (this.listeners.size === 0) {
        this.detach?.();
        this.detach = undefined;
      }
    };
  };

  /** The snapshot as the client says now (a fresh object). */
  protected abstract read(): T;
  /** Starts listening to the client; returns the stop. */
  protected abstract attach(): () => void;
  /** Whether two snapshots say the same. */
  protected abstract same(a: T, b: T): boolean;

  protected refresh(): void {
    const next = this.read();
    if (this.current !== undefined && this.same(next, this.current)) return;
    this.current = next;
    this.listeners.notify();
  }
}

export class ConnectionStore extends ClientStore<ConnectionSnapshot> {
  qualityRefreshMs = DEFAULT_QUALITY_REFRESH_MS;
  private down = false;
  private reason: StatusReason | undefined;
  private error: TetherError | undefined;

  protected read(): ConnectionSnapshot {
    return {
      status: this.client.status,
      quality: this.client.metrics().quality,
      serverDown: this.down,
      reason: this.reason,
      error: this.error,
    };
  }

  protected attach(): () => void {
    const offStatus = this.client.on('status', ({ to, reason, error }) => {
      this.reason = reason;
      this.error = error;
      if (to === ClientState.Connected || to === ClientState.Disconnected) this.down = false;
      this.refresh();
    });
    const offDown = this.client.on('serverDown', () => {
      this.down = true;
      this.refresh();
    });
    const timer = setInterval(() => this.refresh(), this.qualityRefreshMs);
    return () => {
      offStatus();
      offDown();
      clearInterval(timer);
    };
  }

  protected same(a: ConnectionSnapshot, b: ConnectionSnapshot): boolean {
    return (
      a.status === b.status &&
      a.quality === b.quality &&
      a.serverDown === b.serverDown &&
      a.reason === b.reason &&
      a.error === b.error
    );
  }
}

/** The user's status over its devices (`client.presence.status`). */
export class OwnStatusStore extends ClientStore<PresenceStatus> {
  protected read(): PresenceStatus {
    return this.client.presence.status;
  }

  protected attach(): () => void {
    return this.client.presence.on('status', () => this.refresh());
  }

  protected same(a: PresenceStatus, b: PresenceStatus): boolean {
    return a === b;
  }
}

/** The tracked unread counts (`client.unreadCounts()`), by channel. */
export class UnreadStore extends ClientStore<Readonly<Record<string, UnreadCount>>> {
  protected read(): Readonly<Record<string, UnreadCount>> {
    return this.client.unreadCounts();
  }

  protected attach(): () => void {
    return this.client.on('unread', () => this.refresh());
  }

  protected same(a: Readonly<Record<string, UnreadCount>>, b: Readonly<Record<string, UnreadCount>>): boolean {
    const channels = Object.keys(a);
    if (channels.length !== Object.keys(b).length) return false;
    return channels.every((c) => {
      const x = a[c];
      const y = b[c];
      return x !== undefined && y !== undefined && x.head === y.head && x.read === y.read;
    });
  }

  /** Asks the server (`client.unread`) and takes the answer in. */
  async ask(channels?: readonly string[]): Promise<void> {
    await this.client.unread(channels);
    this.refresh();
  }
}

/** The client's stores, one set per client. */
export interface ClientStores {
  connection: ConnectionStore;
  ownStatus: OwnStatusStore;
  unread: UnreadStore;
}

const stores = new WeakMap<TetherClient, ClientStores>();

export function storesOf(client: TetherClient): ClientStores {
  let found = stores.get(client);
  if (!found) {
    found = {
      connection: new ConnectionStore(client),
      ownStatus: new OwnStatusStore(client),
      unread: new UnreadStore(client),
    };
    stores.set(client, found);
  }
  return found;
}
