/**
 * The connection lifecycle: attempts with backoff, what each failure means (retry, fresh token,
 * or give up), `serverDown`, the switch to the HTTP fallback and back, the token refresh before
 * `exp`, and the RTT probe. Every status change goes through the client's one StateMachine.
 */
import {
  ErrorCode,
  TetherError,
  type ErrorFrame,
  type MsgFrame,
  type Positions,
  type ReadNotice,
  type PresenceChannelFrame,
  type ResyncFrame,
  type TypingNotice,
} from '@tether/protocol/wire';
import { Backoff } from './backoff.js';
import { HttpPoller, type PollEntry, type PollPositions } from './fallback.js';
import { Heartbeat, isProbeReply } from './heartbeat.js';
import type { MetricsRecorder } from './metrics.js';
import type { FetchFunction, ResolvedClientOptions } from './options.js';
import { SocketLink, isRecord, type LinkDown } from './socket-link.js';
import { ClientState, StatusReason, type StateMachine } from './state.js';
import type { TokenSource } from './token.js';

/** What the connector needs from the client. */
export interface ConnectorHost {
  /** Resolves once stored positions and the device id are loaded. */
  prepared(): Promise<void>;
  deviceId(): string;
  /** Positions for the handshake (handled positions: the server replays what follows). */
  handshakePositions(): Positions;
  /** Positions for an HTTP poll (after what is queued), once the pipelines settled. */
  pollPositions(): Promise<PollPositions>;
  opened(): void;
  lost(): void;
  msg(frame: MsgFrame): void;
  resync(frame: ResyncFrame): void;
  presence(frame: PresenceChannelFrame): void;
  serverError(frame: ErrorFrame): void;
  /** Feeds one channel of a poll answer; resolves once its pipeline has settled. */
  pollEntry(channel: string, entry: PollEntry): Promise<void>;
  protocolError(error: TetherError, channel: string | undefined): void;
  /** A `typing` or `read` notice (validated). */
  typing(notice: TypingNotice): void;
  read(notice: ReadNotice): void;
  /** `since`: when the link went down; `message`: what failed last (the refusal's, or the transport's). */
  serverDown(attempts: number, error: TetherError | undefined, since: number, message: string): void;
  /** An error for the app's `error` listeners (not tied to a channel). */
  error(error: TetherError): void;
}

/** Refusals that a retry with the same token cannot fix. */
const FATAL: ReadonlySet<string> = new Set([ErrorCode.BadRequest, ErrorCode.Forbidden, ErrorCode.TooManyChannels]);
/** Longest delay `setTimeout` takes; a later refresh is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The wait a refusal asks for: `retryAfterMs`, and for `server_busy` a random share of it on top,
 * so that the crowd an overloaded server refused at once does not come back at once.
 */
export function hintedDelay(error: TetherError | undefined, random: () => number = Math.random): number {
  const hint = error?.retryAfterMs ?? 0;
  if (error?.code !== ErrorCode.ServerBusy) return hint;
  return hint + Math.floor(random() * hint);
}

export class Connector {
  readonly link: SocketLink;
  private poller: HttpPoller | undefined;
  private readonly heartbeat: Heartbeat;
  private readonly backoff: Backoff;
  private running = false;
  /** Consecutive attempts that failed to connect. */
  private failedAttempts = 0;
  private downSince: number | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** True once a refused token was replaced by a fresh one, so that a second refusal is final. */
  private freshTokenTried = false;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly machine: StateMachine,
    private readonly metrics: MetricsRecorder,
    private readonly tokens: TokenSource,
    private readonly host: ConnectorHost,
  ) {
    this.backoff = new Backoff(options.reconnect);
    this.link = new SocketLink(options, {
      open: () => this.opened(),
      down: (info) => this.down(info),
      msg: (frame) => host.msg(frame),
      resync: (frame) => host.resync(frame),
      presence: (frame) => host.presence(frame),
      serverError: (frame) => host.serverError(frame),
      protocolError: (error, channel) => host.protocolError(error, channel),
      typing: (notice) => host.typing(notice),
      read: (notice) => host.read(notice),
    });
    this.heartbeat = new Heartbeat(options.probeIntervalMs, options.probeTimeoutMs, {
      rtt: (ms, serverAheadMs) => {
        metrics.rtt(ms);
        metrics.serverClock(serverAheadMs, ms);
      },
      dead: () => this.replace(StatusReason.ProbeTimeout, 'probe unanswered: the connection is half-open'),
    });
  }

  get pollerActive(): boolean {
    return this.poller?.active === true;
  }

  /** `POST /v1/ack` while polling; false otherwise. */
  httpAck(acks: Record<string, number>): boolean {
    return this.poller?.ack(acks) ?? false;
  }

  /** From `disconnected` or `failed`: start connecting. */
  start(): void {
    this.running = true;
    this.failedAttempts = 0;
    this.downSince = undefined; // an earlier outage (before `failed`) does not count towards the fallback
    this.freshTokenTried = false;
    this.backoff.reset();
    this.machine.set(ClientState.Connecting, StatusReason.ConnectCalled, 'connect() called');
    this.socketDown();
    void this.attempt();
  }

  /** Ends everything (close() or failed); the caller sets the state. */
  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.fallbackTimer);
    clearTimeout(this.refreshTimer);
    this.heartbeat.stop();
    this.stopFallback();
    this.link.close();
    this.metrics.disconnected();
  }

  /** Drops the current connection and reconnects at once (half-open connection found). */
  replace(reason: StatusReason, message: string): void {
    if (!this.link.connected) return;
    this.link.close();
    this.down({ wasOpen: true, reason, message });
  }

  private async attempt(): Promise<void> {
    this.retryTimer = undefined;
    if (!this.running) return;
    let token: string;
    try {
      await this.host.prepared();
      token = await this.tokens.get();
    } catch (err) {
      if (!this.running) return;
      const error = TetherError.from(err, ErrorCode.Unauthorized);
      this.host.error(error);
      // An unreadable token will not get better; a failing getToken (network) may.
      if (err instanceof TetherError && err.code === ErrorCode.Unauthorized)
        return this.fail(StatusReason.Unauthorized, error);
      return this.down({
        wasOpen: false,
        reason: StatusReason.TransportClose,
        message: `getToken failed: ${error.message}`,
      });
    }
    if (!this.running) return;
    const positions = this.host.handshakePositions();
    this.options.logger.debug('connecting', { url: this.options.url, channels: Object.keys(positions) });
    this.link.open({ token, deviceId: this.host.deviceId(), positions });
  }

  private opened(): void {
    this.failedAttempts = 0;
    this.freshTokenTried = false;
    this.downSince = undefined;
    this.backoff.reset();
    clearTimeout(this.fallbackTimer);
    this.stopFallback();
    this.metrics.connected();
    this.machine.set(ClientState.Connected, StatusReason.Connected, 'socket connected');
    this.heartbeat.start((timeoutMs) => this.link.request('probe', { ts: Date.now() }, timeoutMs, isProbeReply));
    this.scheduleRefresh();
    this.host.opened();
  }

  private down(info: LinkDown): void {
    if (info.wasOpen) {
      this.heartbeat.stop();
      clearTimeout(this.refreshTimer);
      this.metrics.disconnected();
      this.host.lost();
    }
    if (!this.running) return;
    const { error } = info;
    this.metrics.failure(error?.code ?? info.reason);
    this.options.logger.debug('socket down', { reason: info.reason, message: info.message, code: error?.code });

    const expired =
      error?.code === ErrorCode.TokenExpired ||
      (info.reason === StatusReason.ServerDisconnect && this.tokens.expired());
    if (expired || (info.reason === StatusReason.ServerDisconnect && !error)) {
      // Never back with the same token after the server ended us: a fresh one, or stop.
      if (this.tokens.refreshable) return void this.retryWithFreshToken(info);
      const reason = expired ? StatusReason.TokenExpired : StatusReason.ServerDisconnect;
      const cause = error ?? new TetherError(expired ? ErrorCode.TokenExpired : ErrorCode.Unauthorized, info.message);
      return this.fail(reason, cause);
    }
    if (error?.code === ErrorCode.Unauthorized) {
      if (this.tokens.refreshable && !this.freshTokenTried) {
        this.freshTokenTried = true;
        return void this.retryWithFreshToken(info);
      }
      return this.fail(StatusReason.Unauthorized, error);
    }
    if (error && FATAL.has(error.code)) return this.fail(StatusReason.Refused, error);
    this.retry(info);
  }

  private async retryWithFreshToken(info: LinkDown): Promise<void> {
    try {
      await this.tokens.fresh();
    } catch (err) {
      this.host.error(TetherError.from(err, ErrorCode.Unauthorized));
    }
    if (this.running) this.retry(info);
  }

  private retry(info: LinkDown): void {
    if (!info.wasOpen) this.failedAttempts++;
    this.downSince ??= Date.now();
    if (this.failedAttempts >= this.options.reconnect.maxAttempts) {
      return this.fail(StatusReason.MaxAttempts, info.error ?? new TetherError(ErrorCode.Internal, info.message));
    }
    if (this.machine.state === ClientState.Connected)
      this.machine.set(ClientState.Reconnecting, info.reason, info.message);
    if (!info.wasOpen && this.failedAttempts === this.options.serverDownAfterAttempts) {
      this.host.serverDown(this.failedAttempts, info.error, this.downSince, info.message);
    }
    this.socketDown();
    // Unanswered (refused, network): no load on the server, so the cap stays short and the client
    // is back soon after a restart. A `rate_limited` refusal says how long to wait at least.
    const limit = info.unanswered ? this.options.reconnect.unreachableMaxDelayMs : Infinity;
    const delay = Math.max(this.backoff.next(limit), hintedDelay(info.error));
    this.options.logger.debug('reconnecting', { inMs: delay, attempt: this.failedAttempts + 1 });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.attempt(), delay);
  }

  /** The socket path is down: start the fallback now, or when `afterMs` has passed. */
  private socketDown(): void {
    const { fallback } = this.options;
    if (!fallback.enabled || this.pollerActive) return;
    const since = (this.downSince ??= Date.now());
    const waited = Date.now() - since;
    if (this.failedAttempts >= fallback.afterAttempts || waited >= fallback.afterMs) return this.startFallback();
    if (this.fallbackTimer === undefined) {
      this.fallbackTimer = setTimeout(() => {
        this.fallbackTimer = undefined;
        if (this.running && !this.link.connected) this.startFallback();
      }, fallback.afterMs - waited);
    }
  }

  private startFallback(): void {
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = undefined;
    const fetchFn = this.options.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchFunction | undefined);
    if (!fetchFn) return this.options.logger.warn('no fetch available: HTTP fallback disabled');
    this.poller ??= new HttpPoller(
      {
        url: this.options.url,
        deviceId: () => this.host.deviceId(),
        fallback: this.options.fallback,
        fetch: fetchFn,
        logger: this.options.logger,
      },
      {
        positions: () => this.host.pollPositions(),
        token: () => this.tokens.get(),
        renewToken: async () => {
          if (!this.tokens.refreshable) return false;
          await this.tokens.fresh();
          return true;
        },
        deliver: (channel, entry) => this.host.pollEntry(channel, entry),
        answered: () => {
          this.metrics.add('polls');
          if (this.link.connected || !this.running) return;
          this.metrics.fallback(true);
          this.machine.set(ClientState.Fallback, StatusReason.FallbackStarted, 'socket unreachable: polling over HTTP');
        },
        failed: (error) => {
          this.options.logger.debug('poll failed', error);
          if (this.machine.state === ClientState.Fallback) {
            this.metrics.fallback(false);
            this.machine.set(
              ClientState.Reconnecting,
              StatusReason.FallbackFailed,
              `poll failed: ${error.message}`,
              error,
            );
          }
        },
        refused: (error) =>
          this.fail(
            error.code === ErrorCode.TokenExpired ? StatusReason.TokenExpired : StatusReason.Unauthorized,
            error,
          ),
        protocolError: (error, channel) => this.host.protocolError(error, channel),
      },
    );
    this.options.logger.debug('starting HTTP fallback');
    this.poller.start();
  }

  private stopFallback(): void {
    if (!this.poller?.active) return;
    this.poller.stop();
    this.metrics.fallback(false);
  }

  private fail(reason: StatusReason, error: TetherError): void {
    this.stop();
    this.host.error(error);
    this.machine.set(ClientState.Failed, reason, error.message, error);
  }

  /** While connected, a fresh token goes to the server through `refresh` before the current one expires. */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (!this.tokens.refreshable) return;
    const inMs = this.tokens.msUntilRefresh();
    if (!Number.isFinite(inMs)) return;
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.min(Math.max(0, inMs), MAX_TIMER_MS));
  }

  private async refresh(): Promise<void> {
    if (this.tokens.msUntilRefresh() > 0) return this.scheduleRefresh(); // a long timer fired early
    let token: string;
    try {
      token = await this.tokens.fresh();
    } catch (err) {
      this.host.error(TetherError.from(err, ErrorCode.Unauthorized));
      if (this.link.connected) this.refreshTimer = setTimeout(() => void this.refresh(), 1000);
      return;
    }
    const isReply = (value: unknown): value is { exp?: number } => isRecord(value);
    const outcome = await this.link.request('refresh', { token }, this.options.probeTimeoutMs, isReply);
    if (outcome.kind === 'error') this.host.error(outcome.error);
    if (this.link.connected) this.scheduleRefresh();
  }
}
