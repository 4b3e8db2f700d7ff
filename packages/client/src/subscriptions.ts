/**
 * The client's subscriptions (the inbox included) and how they meet the server: which positions go
 * into a handshake or a poll, which channels need a `sub` after connecting, where inbound frames
 * go, and what a refusal means for a subscription. Positions load from storage before a channel is
 * resumed, so a new instance never starts a channel from the wrong place.
 */
import {
  ErrorCode,
  TetherError,
  isErrorCode,
  type ErrorFrame,
  type MsgFrame,
  type Position,
  type Positions,
  type ResyncFrame,
  type SubReply,
} from '@tether/protocol/wire';
import type { Acker } from './acker.js';
import type { HistoryOptions, HistoryPage } from './history.js';
import type { PollEntry, PollPositions } from './fallback.js';
import type { MetricsRecorder } from './metrics.js';
import type { ResolvedClientOptions } from './options.js';
import type { Incoming, MessageHandler, ResyncContext } from './pipeline.js';
import type { PositionStore } from './positions.js';
import { isRecord, type SocketLink } from './socket-link.js';
import {
  Subscription,
  SubscriptionState,
  type StaleContext,
  type SubscribeOptions,
  type SubscriptionHost,
} from './subscription.js';

/** Errors a `sub` retry cannot fix: the subscription ends. */
const SUB_FATAL: ReadonlySet<string> = new Set([
  ErrorCode.Forbidden,
  ErrorCode.InvalidChannel,
  ErrorCode.TooManyChannels,
  ErrorCode.BadRequest,
]);
const SUB_RETRY_MS = 1000;

export interface RegistryDeps {
  options: Pick<ResolvedClientOptions, 'gapTimeoutMs' | 'handlerRetry' | 'probeTimeoutMs' | 'logger'>;
  /** The socket link (read late: the connector that owns it is built after the registry). */
  link: () => SocketLink;
  positionStore: PositionStore;
  acker: Acker;
  stats: MetricsRecorder;
  /** Resolves once the user (and so the storage namespace) is known. */
  userKnown: () => Promise<void>;
  resync: (context: ResyncContext) => void;
  error: (error: TetherError, channel?: string) => void;
  /** `client.history`, for `sub.history()`. */
  history: (channel: string, options: HistoryOptions) => Promise<HistoryPage>;
  stale: (context: StaleContext) => void;
  /** Typing and read receipts (typing.ts, read-state.ts), through the client. */
  social: Pick<SubscriptionHost, 'typingOptions'> & {
    typing(channel: string): void;
    markRead(channel: string, offset: number): Promise<number>;
    readPosition(channel: string): number | undefined;
    handled(channel: string, offset: number): void;
  };
}

export class SubscriptionRegistry {
  readonly inbox: Subscription;
  private readonly subs = new Map<string, Subscription>();
  private readonly host: SubscriptionHost;
  private readonly loading = new Set<Promise<void>>();
  /** Channels whose positions went into the current handshake (the server resumes them itself). */
  private handshaked = new Set<string>();
  /** Subscriptions with a `sub` request in flight. */
  private readonly requesting = new Set<Subscription>();

  constructor(private readonly deps: RegistryDeps) {
    const { acker, positionStore, stats } = deps;
    this.host = {
      advanced: (sub, position) => {
        acker.record(sub.channel, position.offset);
        positionStore.set(sub.channel, position);
        deps.social.handled(sub.channel, position.offset);
      },
      gap: (sub, position) => this.requestGap(sub, position),
      resync: (sub, context) => {
        stats.add('resyncs');
        acker.seed(sub.channel, context.offset);
        deps.resync(context);
      },
      error: (sub, context) => deps.error(context.error, sub.channel),
      stale: (_sub, context) => {
        stats.add(context.reason);
        deps.stale(context);
      },
      count: (counter) => stats.add(counter),
      unsubscribe: (sub) => this.remove(sub),
      history: (sub, options) => deps.history(sub.channel, options),
      typingOptions: deps.social.typingOptions,
      typing: (sub) => deps.social.typing(sub.channel),
      markRead: (sub, offset) => deps.social.markRead(sub.channel, offset),
      readPosition: (sub) => deps.social.readPosition(sub.channel),
    };
    this.inbox = this.make('', undefined, {});
  }

  /** The subscription of `channel` (the inbox included), if any. */
  find(channel: string): Subscription | undefined {
    return channel === '' ? undefined : this.byChannel(channel);
  }

  has(channel: string): boolean {
    return this.subs.has(channel) || channel === this.inbox.channel;
  }

  /** A new subscription: its stored position loads first, then it is subscribed if connected. */
  add(channel: string, handler: MessageHandler, options: SubscribeOptions): Subscription {
    const sub = this.make(channel, handler, options);
    this.subs.set(channel, sub);
    if (options.since === undefined) this.loadPosition(sub);
    void this.whenLoaded().then(() => {
      if (this.deps.link().connected) void this.subscribeOnServer(sub);
    });
    return sub;
  }

  /** Names the inbox once the user is known, and loads its position. */
  bindInbox(channel: string): void {
    this.inbox.bind(channel);
    this.loadPosition(this.inbox);
  }

  /** Waits for pending loads (positions, and whatever else `track` was given). */
  async whenLoaded(): Promise<void> {
    while (this.loading.size > 0) await Promise.all(this.loading);
  }

  /** Makes connecting wait for `work` too (e.g. restoring a persisted publish queue). */
  track(work: Promise<void>): void {
    const settled = work.catch((err: unknown) => this.deps.options.logger.warn('loading from storage failed', err));
    this.loading.add(settled);
    void settled.finally(() => this.loading.delete(settled));
  }

  all(): Subscription[] {
    return this.inbox.channel ? [this.inbox, ...this.subs.values()] : [...this.subs.values()];
  }

  /** Ends every subscription (client closed). */
  closeAll(): void {
    for (const sub of [this.inbox, ...this.subs.values()]) sub.setState(SubscriptionState.Unsubscribed, 'closed');
  }

  // ---- positions for the server -----------------------------------------------------------------

  /** Handled positions: the server resumes these channels itself and replays what follows. */
  handshakePositions(): Positions {
    const positions: Positions = {};
    this.handshaked = new Set();
    for (const sub of this.all()) {
      const position = sub.pipeline.position;
      if (position === undefined) continue;
      positions[sub.channel] = position;
      this.handshaked.add(sub.channel);
    }
    return positions;
  }

  /** Where each pipeline will be once what it holds is handled, so that a poll does not fetch it again. */
  async pollPositions(): Promise<PollPositions> {
    await Promise.all(this.all().map((sub) => sub.pipeline.settled()));
    const positions: PollPositions = {};
    for (const sub of this.all()) {
      const expected = sub.pipeline.expected;
      if (expected) positions[sub.channel] = expected;
      // No position yet: `null` asks where "live from now" starts (the inbox is answered with its
      // head unasked).
      else if (sub !== this.inbox) positions[sub.channel] = null;
    }
    return positions;
  }

  // ---- connection events --------------------------------------------------------------------------

  opened(): void {
    for (const sub of this.all()) {
      if (this.handshaked.has(sub.channel)) sub.setState(SubscriptionState.Subscribed, 'subscribed');
      else void this.whenLoaded().then(() => this.subscribeOnServer(sub));
    }
  }

  lost(): void {
    for (const sub of this.all()) sub.setState(SubscriptionState.Subscribing, 'disconnected');
  }

  msg(frame: MsgFrame): void {
    this.deps.stats.add('received', frame.messages.length);
    const { epoch, messages, upTo, from } = frame;
    const item: Incoming = { kind: 'messages', epoch, messages };
    if (upTo !== undefined) item.upTo = upTo;
    if (from !== undefined) item.from = from;
    this.byChannel(frame.channel)?.pipeline.push(item);
  }

  resync(frame: ResyncFrame): void {
    this.byChannel(frame.channel)?.pipeline.push({ kind: 'resync', epoch: frame.epoch, offset: frame.offset });
  }

  pollEntry(channel: string, entry: PollEntry): Promise<void> {
    const sub = this.byChannel(channel);
    if (!sub) return Promise.resolve();
    if (sub.state === SubscriptionState.Subscribing) sub.setState(SubscriptionState.Subscribed, 'polling');
    if ('resync' in entry) {
      const { epoch, offset } = entry.resync;
      // Our own "where is the head?" question (see pollPositions) is not a resync for the app.
      if (sub.pipeline.expected === undefined) sub.pipeline.adopt({ epoch, offset });
      else sub.pipeline.push({ kind: 'resync', epoch, offset });
      return sub.pipeline.settled();
    }
    // The answer to our `null` ("where is now?") for a channel with no position yet: start there.
    if (sub.pipeline.expected === undefined && entry.messages.length === 0) {
      sub.pipeline.adopt({ epoch: entry.epoch, offset: entry.upTo });
      return Promise.resolve();
    }
    this.deps.stats.add('received', entry.messages.length);
    sub.pipeline.push({ kind: 'messages', epoch: entry.epoch, messages: entry.messages, upTo: entry.upTo });
    return sub.pipeline.settled();
  }

  serverError(frame: ErrorFrame): void {
    const error = new TetherError(isErrorCode(frame.code) ? frame.code : ErrorCode.Internal, frame.message);
    const sub = frame.channel === undefined ? undefined : this.byChannel(frame.channel);
    if (sub) return this.refused(sub, error);
    // An expiry is the connector's business: it refreshes and reconnects, or fails with it.
    if (error.code !== ErrorCode.TokenExpired) this.deps.error(error, frame.channel);
  }

  // ---- internals ----------------------------------------------------------------------------------

  private make(channel: string, handler: MessageHandler | undefined, options: SubscribeOptions): Subscription {
    const { gapTimeoutMs, handlerRetry, logger } = this.deps.options;
    return Subscription.create(
      channel,
      handler,
      options,
      this.host,
      options.since,
      { gapTimeoutMs, handlerRetry, serverNow: () => this.deps.stats.serverNow() },
      (err) => logger.error('a subscription listener threw', err),
    );
  }

  private byChannel(channel: string): Subscription | undefined {
    return channel === this.inbox.channel ? this.inbox : this.subs.get(channel);
  }

  private loadPosition(sub: Subscription): void {
    this.track(
      (async () => {
        await this.deps.userKnown();
        const stored = await this.deps.positionStore.load(sub.channel);
        if (stored) sub.pipeline.adopt(stored);
      })(),
    );
  }

  private async subscribeOnServer(sub: Subscription): Promise<void> {
    if (this.requesting.has(sub) || sub.state === SubscriptionState.Unsubscribed) return;
    const since = sub.pipeline.position;
    const frame = since ? { channel: sub.channel, since } : { channel: sub.channel };
    const isSubReply = (value: unknown): value is SubReply =>
      isRecord(value) && typeof value['epoch'] === 'string' && typeof value['offset'] === 'number';
    this.requesting.add(sub);
    const outcome = await this.deps
      .link()
      .request('sub', frame, this.deps.options.probeTimeoutMs, isSubReply)
      .finally(() => this.requesting.delete(sub));
    if (isEnded(sub)) return;
    if (outcome.kind === 'reply') {
      sub.pipeline.adopt({ epoch: outcome.value.epoch, offset: outcome.value.offset });
      sub.setState(SubscriptionState.Subscribed, 'subscribed');
    } else if (outcome.kind === 'error') {
      this.refused(sub, outcome.error);
    }
  }

  /** The server refused a subscription: it ends (forbidden…), or is asked again later (store down…). */
  private refused(sub: Subscription, error: TetherError): void {
    if (SUB_FATAL.has(error.code) && sub !== this.inbox) {
      this.subs.delete(sub.channel);
      sub.setState(SubscriptionState.Unsubscribed, 'refused', error);
      sub.fail(error);
      return;
    }
    this.deps.error(error, sub.channel);
    setTimeout(
      () => {
        if (this.deps.link().connected && !isEnded(sub)) void this.subscribeOnServer(sub);
      },
      Math.max(SUB_RETRY_MS, error.retryAfterMs ?? 0),
    );
  }

  private async remove(sub: Subscription): Promise<void> {
    if (sub === this.inbox) throw new TypeError('TetherClient: the inbox cannot be unsubscribed');
    if (this.subs.get(sub.channel) !== sub) return;
    this.subs.delete(sub.channel);
    sub.setState(SubscriptionState.Unsubscribed, 'unsubscribe');
    this.deps.acker.forget(sub.channel);
    this.deps.link().send('unsub', { channel: sub.channel });
    await this.deps.positionStore.flush();
  }

  /** Messages ahead of the position waited too long: ask for what follows it again. */
  private requestGap(sub: Subscription, position: Position): void {
    this.deps.stats.add('gapsRequested');
    this.deps.options.logger.debug('asking for a gap', { channel: sub.channel, after: position.offset });
    // Not connected: the next poll or handshake asks from the position anyway. A `sub` in flight
    // brings its replay; the gap timer asks again if that is not enough.
    const link = this.deps.link();
    if (!link.connected || this.requesting.has(sub)) return;
    // A `sub` with `since` of a channel already subscribed replays what followed it, live frames
    // flowing on meanwhile (the pipeline orders them).
    void this.subscribeOnServer(sub);
  }
}

/** Reads the state afresh (TypeScript would keep a narrowing across an await). */
function isEnded(sub: Subscription): boolean {
  return sub.state === SubscriptionState.Unsubscribed;
}
