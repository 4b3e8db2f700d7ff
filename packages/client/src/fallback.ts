/**
 * The HTTP fallback: `POST /v1/poll` from the same positions the socket would resume from, its
 * answers fed into the same pipelines (so a message that arrives on both paths is handled once),
 * and acks through `POST /v1/ack`. Stateless on the server, so any node answers. Stopping aborts
 * the poll in flight: the socket takes over from the positions handled so far.
 */
import {
  ErrorCode,
  TetherError,
  isMsgFrame,
  isResyncFrame,
  type Position,
  type PollChannelMessages,
  type PollChannelResync,
} from '@tether/protocol/wire';
import { Backoff } from './backoff.js';

/** Positions to poll from; `null` asks where "now" is for a channel with no position yet. */
export type PollPositions = Record<string, Position | null>;
import type { FallbackOptions, FetchFunction, Logger } from './options.js';
import { isRecord, refusalOf } from './socket-link.js';

export type PollEntry = PollChannelMessages | PollChannelResync;

export interface PollerHost {
  /** The positions to poll from (after what is queued is handled); awaited before each poll. */
  positions(): Promise<PollPositions>;
  /** A token to send now (refreshed when due). */
  token(): Promise<string>;
  /** The current token was refused as expired: get a fresh one (false when there is no way to). */
  renewToken(): Promise<boolean>;
  /** One channel's answer, validated; resolves once it is handled (or its handler is failing). */
  deliver(channel: string, entry: PollEntry): Promise<void>;
  /** A poll was answered. */
  answered(): void;
  /** A poll failed (network, server); polling continues with backoff. */
  failed(error: TetherError): void;
  /** The server refused us for good (`unauthorized`, `forbidden`, expired token with no refresh). */
  refused(error: TetherError): void;
  /** One channel's answer was unreadable; the others were used. */
  protocolError(error: TetherError, channel: string): void;
}

export interface PollerOptions {
  url: string;
  /** Sent with HTTP acks, so that they count for this device (read late: it may load after polling began). */
  deviceId: () => string;
  fallback: FallbackOptions;
  fetch: FetchFunction;
  logger: Logger;
}

export class HttpPoller {
  private running = false;
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private interval: number;
  private readonly failures: Backoff;

  constructor(
    private readonly options: PollerOptions,
    private readonly host: PollerHost,
  ) {
    this.interval = options.fallback.pollIntervalMs;
    this.failures = new Backoff({
      initialDelayMs: 1000,
      maxDelayMs: options.fallback.maxPollIntervalMs,
      factor: 2,
      jitter: 'full',
    });
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.interval = this.options.fallback.pollIntervalMs;
    this.failures.reset();
    void this.loop();
  }

  /** Stops polling and aborts the poll in flight (its answer, if it already came, was fed in full). */
  stop(): void {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
  }

  /** `POST /v1/ack`, fire-and-forget; false when not polling (the acks wait for another path). */
  ack(acks: Record<string, number>): boolean {
    if (!this.running) return false;
    void (async () => {
      try {
        const deviceId = this.options.deviceId();
        const body = deviceId ? { acks, deviceId } : { acks };
        const response = await this.post('/v1/ack', body, await this.host.token());
        if (!response.ok) this.options.logger.warn('HTTP ack refused', { status: response.status });
      } catch (err) {
        this.options.logger.warn('HTTP ack failed', err);
      }
    })();
    return true;
  }

  private async loop(): Promise<void> {
    const { pollWaitSeconds, pollIntervalMs, maxPollIntervalMs } = this.options.fallback;
    // The first poll answers at once, so the switch to `fallback` shows (and positions settle)
    // without waiting out a long-poll on a quiet channel.
    let wait = 0;
    while (this.running) {
      let delay = 0;
      try {
        const positions = await this.host.positions();
        if (!this.running) break;
        const started = Date.now();
        const asked = wait;
        wait = pollWaitSeconds;
        const news = await this.poll(positions, asked);
        if (!this.running) break;
        this.failures.reset();
        this.host.answered();
        const early = Date.now() - started < Math.min(1000, pollWaitSeconds * 500);
        if (news) this.interval = pollIntervalMs;
        else this.interval = Math.min(this.interval * 1.2, maxPollIntervalMs);
        // Long-polls follow each other at once; a short poll, or a long-poll answered early with
        // nothing new (a closing server), waits, growing ×1.2 while nothing comes.
        if (pollWaitSeconds === 0 || (!news && early && asked > 0)) delay = this.interval;
      } catch (err) {
        if (!this.running) break;
        const error = TetherError.from(err, ErrorCode.Internal);
        if (error.code === ErrorCode.TokenExpired && (await this.host.renewToken())) continue;
        if (
          error.code === ErrorCode.Unauthorized ||
          error.code === ErrorCode.Forbidden ||
          error.code === ErrorCode.TokenExpired
        ) {
          this.running = false;
          this.host.refused(error);
          break;
        }
        this.host.failed(error);
        // Over the server's per-user budget: wait at least as long as it says.
        delay = Math.max(this.failures.next(), error.retryAfterMs ?? 0);
      }
      if (delay > 0 && this.running) await this.sleep(delay);
    }
  }

  /** One poll; true when something moved (messages, a resync, or a later `upTo`). */
  private async poll(positions: PollPositions, wait: number): Promise<boolean> {
    const token = await this.host.token();
    this.controller = new AbortController();
    const payload = wait > 0 ? { positions, wait } : { positions };
    const response = await this.post('/v1/poll', payload, token, this.controller.signal);
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      if (!this.running) throw err;
      throw new TetherError(ErrorCode.ProtocolError, `unreadable poll answer (HTTP ${response.status})`, {
        cause: err,
      });
    }
    if (!response.ok) {
      throw (
        refusalOf(isRecord(body) ? body['error'] : undefined) ??
        new TetherError(ErrorCode.Internal, `poll failed with HTTP ${response.status}`)
      );
    }
    const channels = isRecord(body) ? body['channels'] : undefined;
    if (!isRecord(channels)) throw new TetherError(ErrorCode.ProtocolError, 'poll answer without `channels`');
    let news = false;
    if (!this.running) return news;
    for (const [channel, raw] of Object.entries(channels)) {
      const entry = parseEntry(channel, raw);
      if (!entry) {
        this.host.protocolError(
          new TetherError(ErrorCode.ProtocolError, `malformed poll answer for ${channel}`),
          channel,
        );
        continue;
      }
      const sent = positions[channel];
      if ('resync' in entry || entry.messages.length > 0 || !sent || entry.upTo > sent.offset) news = true;
      const handled = this.host.deliver(channel, entry);
      // The answer's order is priority order: a channel is handled before the next is fed (a failing
      // handler counts as settled). Once stopped, the rest is fed at once: an answer is fed in full.
      if (this.running) await handled;
    }
    return news;
  }

  private post(path: string, body: unknown, token: string, signal?: AbortSignal): Promise<Response> {
    return this.options.fetch(this.options.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** A channel's answer, checked with the socket frames' schemas (the same envelopes and positions). */
function parseEntry(channel: string, raw: unknown): PollEntry | undefined {
  if (!isRecord(raw)) return undefined;
  if ('resync' in raw) {
    const keys = Object.keys(raw);
    const resync = raw['resync'];
    const frame = keys.length === 1 && isRecord(resync) ? { channel, ...resync } : undefined;
    return isResyncFrame(frame) ? { resync: { epoch: frame.epoch, offset: frame.offset } } : undefined;
  }
  const frame = { channel, ...raw };
  if (!isMsgFrame(frame) || frame.upTo === undefined) return undefined;
  return { epoch: frame.epoch, messages: frame.messages, upTo: frame.upTo };
}
