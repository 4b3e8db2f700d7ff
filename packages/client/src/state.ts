/**
 * The client's one state machine. Every transition goes through `StateMachine.set`, which checks
 * it against `transitions` and emits it as `status {from, to, reason, message}`: the app sees every
 * change, and an impossible one is a bug caught at once instead of a confused UI.
 */
import type { TetherError } from '@tether/protocol/wire';

export const ClientState = {
  /** Not started, or closed by `close()`. */
  Disconnected: 'disconnected',
  /** `connect()` was called; no connection yet. Retries with backoff until one succeeds. */
  Connecting: 'connecting',
  /** The socket is up: messages flow live, publishes go out. */
  Connected: 'connected',
  /** The socket was lost; retrying with backoff and resuming from the positions. */
  Reconnecting: 'reconnecting',
  /** The socket cannot connect; messages arrive by HTTP long-poll while the socket keeps retrying. */
  Fallback: 'fallback',
  /** Stopped for a reason retrying cannot fix (refused token, no way to refresh it, max attempts). */
  Failed: 'failed',
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

/** Allowed transitions. `failed` is left by `connect()` (after the app fixed the cause) or `close()`. */
export const transitions: Readonly<Record<ClientState, readonly ClientState[]>> = {
  disconnected: ['connecting'],
  connecting: ['connected', 'fallback', 'failed', 'disconnected'],
  connected: ['reconnecting', 'failed', 'disconnected'],
  reconnecting: ['connected', 'fallback', 'failed', 'disconnected'],
  fallback: ['connected', 'reconnecting', 'failed', 'disconnected'],
  failed: ['connecting', 'disconnected'],
};

/** Why a transition happened: stable codes to branch on (the `message` is for people). */
export const StatusReason = {
  /** `connect()` was called. */
  ConnectCalled: 'connect_called',
  /** The socket connected (first time or again). */
  Connected: 'connected',
  /** The transport closed: a network drop, or a server that is shutting down. */
  TransportClose: 'transport_close',
  /** Socket.IO's ping timed out: the server stopped answering. */
  PingTimeout: 'ping_timeout',
  /** The SDK's RTT probe got no answer in time: a half-open connection, replaced by a new one. */
  ProbeTimeout: 'probe_timeout',
  /** The server ended the connection itself (not a network problem). */
  ServerDisconnect: 'server_disconnect',
  /** The token expired and could not be replaced (no `getToken`, or it failed for good). */
  TokenExpired: 'token_expired',
  /** The server refused the token (`unauthorized`), also after a fresh one from `getToken`. */
  Unauthorized: 'unauthorized',
  /** The server refused the handshake for a reason retrying cannot fix (`bad_request`, `too_many_channels`, `forbidden`). */
  Refused: 'refused',
  /** The socket could not connect for `fallback.afterMs` or `fallback.afterAttempts`; HTTP polling took over. */
  FallbackStarted: 'fallback_started',
  /** The HTTP fallback failed while the socket is still down. */
  FallbackFailed: 'fallback_failed',
  /** `reconnect.maxAttempts` consecutive attempts failed. */
  MaxAttempts: 'max_attempts',
  /** `close()` was called. */
  Closed: 'closed',
} as const;
export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** The context of a `status` event. */
export interface StatusChange {
  from: ClientState;
  to: ClientState;
  reason: StatusReason;
  /** Human-readable detail. */
  message: string;
  /** The error behind a `failed` (or a failure-caused) transition, when there is one. */
  error?: TetherError;
}

export class StateMachine {
  private current: ClientState = ClientState.Disconnected;

  constructor(private readonly emit: (change: StatusChange) => void) {}

  get state(): ClientState {
    return this.current;
  }

  /** True when `to` may follow the current state. */
  can(to: ClientState): boolean {
    return transitions[this.current].includes(to);
  }

  /**
   * The one door. Setting the current state again is a no-op (not an event); a transition the
   * table forbids throws, because it means the SDK's own logic is wrong.
   */
  set(to: ClientState, reason: StatusReason, message: string, error?: TetherError): boolean {
    const from = this.current;
    if (from === to) return false;
    if (!this.can(to)) throw new Error(`TetherClient: invalid status transition ${from} -> ${to} (${reason})`);
    this.current = to;
    this.emit(error ? { from, to, reason, message, error } : { from, to, reason, message });
    return true;
  }
}
