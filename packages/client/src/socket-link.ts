/**
 * One Socket.IO connection at a time, as the rest of the SDK sees it: open with a handshake,
 * validated inbound frames, requests that always settle (reply, refusal, or lost), and one report
 * when the connection ends. Socket.IO's own reconnection is off: the client decides when and how
 * to retry (backoff with full jitter, a fresh token, the fallback), and each attempt gets a fresh
 * socket, so no listener or buffered frame survives from an old one (socket.io #4919).
 */
import { io, type Socket } from 'socket.io-client';
import {
  ErrorCode,
  TetherError,
  isErrorFrame,
  isErrorCode,
  isMsgFrame,
  isPresenceChannelFrame,
  isResyncFrame,
  isReadNotice,
  isTypingNotice,
  type ErrorFrame,
  type HandshakeAuth,
  type MsgFrame,
  type ReadNotice,
  type PresenceChannelFrame,
  type ResyncFrame,
  type TypingNotice,
} from '@tether/protocol/wire';
import type { ResolvedClientOptions } from './options.js';
import { StatusReason } from './state.js';

/** How a request ended: the reply, the server's refusal, or no answer. */
export type Outcome<T> =
  | { kind: 'reply'; value: T }
  | { kind: 'error'; error: TetherError }
  | { kind: 'lost'; reason: string; timedOut: boolean };

/** Why a connection (or an attempt) ended. */
export interface LinkDown {
  /** False when the handshake never completed. */
  wasOpen: boolean;
  reason: StatusReason;
  message: string;
  /** The server's refusal (`connect_error` data, or the `error` frame before it closed us). */
  error?: TetherError;
  /**
   * The attempt ended without any answer from the server and before the connect timeout: the
   * connection was refused or the network failed (a server restarting, a network down).
   */
  unanswered?: boolean;
}

export interface LinkHandlers {
  open(): void;
  down(info: LinkDown): void;
  msg(frame: MsgFrame): void;
  resync(frame: ResyncFrame): void;
  presence(frame: PresenceChannelFrame): void;
  serverError(frame: ErrorFrame): void;
  protocolError(error: TetherError, channel: string | undefined): void;
  typing(notice: TypingNotice): void;
  read(notice: ReadNotice): void;
}

/** A server's retry hint is obeyed up to this long (an hour): a larger one is a bug, not a plan. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** The message of socket.io-client's `connect_error` when `timeout` passed without a CONNECT. */
const CONNECT_TIMEOUT_MESSAGE = 'timeout';

type LinkOptions = Pick<ResolvedClientOptions, 'url' | 'path' | 'transports' | 'connectTimeoutMs' | 'socketFactory'>;

export class SocketLink {
  private socket: Socket | undefined;
  private open_ = false;
  /** The server's `error {code}` frame that came just before it closed the connection. */
  private lastServerError: TetherError | undefined;
  /** Requests waiting for a reply: settled as `lost` when the socket goes. */
  private readonly pending = new Set<(reason: string) => void>();

  constructor(
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
  ) {}

  get connected(): boolean {
    return this.open_ && this.socket?.connected === true;
  }

  /** Starts an attempt, replacing any previous socket. The outcome comes as `open` or `down`. */
  open(auth: HandshakeAuth): void {
    this.dispose();
    const factory = this.options.socketFactory ?? io;
    const socket = factory(this.options.url, {
      path: this.options.path,
      transports: this.options.transports,
      forceNew: true,
      reconnection: false,
      autoConnect: false,
      timeout: this.options.connectTimeoutMs,
      auth,
    });
    this.socket = socket;
    this.lastServerError = undefined;
    const mine = (): boolean => this.socket === socket;

    socket.on('connect', () => {
      if (!mine()) return;
      this.open_ = true;
      this.handlers.open();
    });
    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      if (!mine()) return;
      const refusal = refusalOf(err.data);
      this.end({
        wasOpen: false,
        reason: StatusReason.TransportClose,
        message: refusal ? refusal.message : `connect failed: ${err.message}`,
        ...(refusal ? { error: refusal } : {}),
        // socket.io-client reports its connect timeout as `timeout`; any other error without data is the transport's.
        unanswered: !refusal && err.message !== CONNECT_TIMEOUT_MESSAGE,
      });
    });
    socket.on('disconnect', (reason: string) => {
      if (!mine()) return;
      const kicked = reason === 'io server disconnect';
      const down: LinkDown = {
        wasOpen: true,
        reason: kicked
          ? StatusReason.ServerDisconnect
          : reason === 'ping timeout'
            ? StatusReason.PingTimeout
            : StatusReason.TransportClose,
        message: `disconnected: ${reason}`,
      };
      if (kicked && this.lastServerError) down.error = this.lastServerError;
      this.end(down);
    });
    socket.on('msg', (frame: unknown) => {
      if (!mine()) return;
      if (isMsgFrame(frame)) this.handlers.msg(frame);
      else this.malformed('msg', frame, 'not a valid msg frame');
    });
    socket.on('resync', (frame: unknown) => {
      if (!mine()) return;
      if (isResyncFrame(frame)) this.handlers.resync(frame);
      else this.malformed('resync', frame, 'not a valid resync frame');
    });
    socket.on('typing', (frame: unknown) => {
      if (!mine()) return;
      if (isTypingNotice(frame)) this.handlers.typing(frame);
      else this.malformed('typing', frame, 'not a valid typing notice');
    });
    socket.on('read', (frame: unknown) => {
      if (!mine()) return;
      if (isReadNotice(frame)) this.handlers.read(frame);
      else this.malformed('read', frame, 'not a valid read notice');
    });
    socket.on('presence', (frame: unknown) => {
      if (!mine()) return;
      if (isPresenceChannelFrame(frame)) this.handlers.presence(frame);
      else this.malformed('presence', frame, 'not a valid presence frame');
    });
    socket.on('error', (frame: unknown) => {
      if (!mine()) return;
      if (!isErrorFrame(frame)) return this.malformed('error', frame, 'not a valid error frame');
      if (isErrorCode(frame.code) && frame.channel === undefined) {
        this.lastServerError = refusalOf(frame);
      }
      this.handlers.serverError(frame);
    });
    socket.connect();
  }

  /** Ends the current socket without a `down` report (the caller knows why). */
  close(): void {
    this.dispose();
  }

  /** Fire-and-forget; false when not connected (nothing is buffered for later). */
  send(event: string, frame: unknown): boolean {
    if (!this.connected) return false;
    this.socket!.emit(event, frame);
    return true;
  }

  /** Emits with a reply callback; always settles: a reply, a refusal, or `lost` (disconnect, timeout). */
  request<T>(
    event: string,
    frame: unknown,
    timeoutMs: number,
    isReply: (value: unknown) => value is T,
  ): Promise<Outcome<T>> {
    const socket = this.socket;
    if (!socket || !this.connected) {
      return Promise.resolve({ kind: 'lost', reason: 'not connected', timedOut: false });
    }
    return new Promise<Outcome<T>>((resolve) => {
      const settle = (outcome: Outcome<T>): void => {
        clearTimeout(timer);
        this.pending.delete(lose);
        resolve(outcome);
      };
      const lose = (reason: string): void => settle({ kind: 'lost', reason, timedOut: false });
      const timer = setTimeout(
        () => settle({ kind: 'lost', reason: `no ${event} reply within ${timeoutMs} ms`, timedOut: true }),
        timeoutMs,
      );
      this.pending.add(lose);
      socket.emit(event, frame, (reply: unknown) => {
        if (!this.pending.has(lose)) return; // already settled (timeout, disconnect)
        const refusal = refusalOf(isRecord(reply) ? reply['error'] : undefined);
        if (refusal) return settle({ kind: 'error', error: refusal });
        if (isReply(reply)) return settle({ kind: 'reply', value: reply });
        const error = new TetherError(ErrorCode.ProtocolError, `malformed ${event} reply from the server`);
        this.handlers.protocolError(error, undefined);
        settle({ kind: 'error', error });
      });
    });
  }

  private end(info: LinkDown): void {
    this.dispose();
    this.handlers.down(info);
  }

  private malformed(event: string, frame: unknown, detail: string | undefined): void {
    const channel = isRecord(frame) && typeof frame['channel'] === 'string' ? frame['channel'] : undefined;
    const error = new TetherError(
      ErrorCode.ProtocolError,
      `malformed ${event} frame from the server${channel ? ` on ${channel}` : ''}: ${detail ?? 'invalid'}`,
    );
    this.handlers.protocolError(error, channel);
  }

  private dispose(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.open_ = false;
    for (const lose of [...this.pending]) lose('disconnected');
    if (!socket) return;
    socket.removeAllListeners();
    socket.disconnect();
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A `{code, message}` from the server as a TetherError (an unknown code reads as `internal`). */
export function refusalOf(body: unknown): TetherError | undefined {
  if (!isRecord(body) || typeof body['code'] !== 'string') return undefined;
  const message = typeof body['message'] === 'string' ? body['message'] : body['code'];
  const code = isErrorCode(body['code']) ? body['code'] : ErrorCode.Internal;
  const retryAfterMs = body['retryAfterMs'];
  // `rate_limited` says how long to wait; anything but a sane number is ignored (the backoff applies).
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return new TetherError(code, message, { retryAfterMs: Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) });
  }
  return new TetherError(code, message);
}
