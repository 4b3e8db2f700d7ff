/**
 * The push fallback (docs/push.md): decides whether and when a message goes to its user's push
 * targets, at most once per (message, user), and drives the providers with retries.
 *
 * A candidate enters through `published` (a message with a push policy on a user's inbox: due
 * `ackWithin` after publish if the user has a live connection, at once if not) or `missed` (a
 * message with a push policy that a live connection never acked, on any channel: due at once).
 * Either way it is claimed in the store (`PushStore.schedule`: set-if-absent with an expiry), so
 * a second entry — another node, the other path, a restart — changes nothing. Every node drains
 * the store's due-queue; an entry taken is leased, so a node that dies mid-push leaves it to
 * another. When due, a push is dropped if any device of the user acked the message by then
 * (asked of every node) or if it is no longer relevant (relevance-check.ts); otherwise each
 * provider gets one attempt per target per round, and the dispatcher retries what asked for it.
 */
import type { Logger } from 'pino';
import { INBOX_PREFIX } from '@tether/protocol';
import type { LogStore, StoredMessage } from '../store/types.js';
import { pushKeyOf, targetKeyOf, type PushDue, type PushStore } from '../store/push-types.js';
import type { RelevanceFilter } from '../delivery/relevance.js';
import type { StatsCounter } from '../delivery/stats.js';
import { streamOf } from '../delivery/channel-registry.js';
import type { PushDevice, PushNotice, PushOutcome, PushProvider } from './provider.js';
import { ackWithinOf, type PublishPush, type ResolvedPushOptions } from './options.js';
import type { UserStateQuery } from './user-state.js';
import { checkRelevance } from './relevance-check.js';

export interface PushDispatcherDeps {
  store: LogStore;
  push: PushStore;
  relevance: RelevanceFilter;
  stats: StatsCounter;
  userState: UserStateQuery;
  options: ResolvedPushOptions;
  log: Logger;
  now: () => number;
}

/** Due entries one node takes per drain round. */
const TAKE_BATCH = 64;
/** How often expired claims are forgotten (the SQLite and memory engines). */
const CLAIM_PRUNE_MS = 60_000;

interface Target {
  provider: PushProvider;
  device: PushDevice | undefined;
}

export class PushDispatcher {
  private poll: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private stopped = true;
  private lastClaimPrune = 0;
  /** Entry work in flight (scheduling, pushing), awaited by `stop`. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly d: PushDispatcherDeps;

  constructor(deps: PushDispatcherDeps) {
    this.d = deps;
  }

  get providers(): readonly PushProvider[] {
    return this.d.options.providers;
  }

  start(): void {
    this.stopped = false;
    this.poll = setInterval(() => this.kick(), this.d.options.pollIntervalMs);
    this.poll.unref();
    this.kick(); // what came due while no node ran
  }

  /** Stops taking work and waits for the pushes in flight (a graceful restart does not cut one in half). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.wakeTimer);
    this.wakeAt = Infinity;
    while (this.inFlight.size > 0 || this.draining) {
      await Promise.allSettled([...this.inFlight, this.draining]);
    }
    await Promise.allSettled(this.providers.map((p) => p.close?.()));
  }

  /** A message was appended (not a duplicate): a push candidate if it has a policy and is in a user's inbox. */
  published(tenant: string, channel: string, epoch: string, message: StoredMessage, push?: PublishPush): void {
    if (this.stopped || this.providers.length === 0 || !channel.startsWith(INBOX_PREFIX)) return;
    if (message.priority === 'low') return; // low is never pushed
    const ackWithin = ackWithinOf(this.d.options, message, push);
    if (ackWithin === undefined) return;
    const sub = channel.slice(INBOX_PREFIX.length);
    void this.track(this.enterPublished(tenant, sub, channel, epoch, message, ackWithin));
  }

  /** A live connection of `sub` never acked `message` (the sweeper gave up): a candidate, due now. */
  missed(tenant: string, sub: string, channel: string, epoch: string, message: StoredMessage): void {
    if (this.stopped || this.providers.length === 0 || message.priority === 'low') return;
    if (ackWithinOf(this.d.options, message) === undefined) return;
    void this.track(this.enter(this.entryOf(tenant, sub, channel, epoch, message.offset, 'unacked', this.d.now())));
  }

  /** Drains what is due now (the timers call it; tests may too). */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.drainAgain) {
        this.drainAgain = false;
        this.kick();
      }
    });
  }

  private async enterPublished(
    tenant: string,
    sub: string,
    channel: string,
    epoch: string,
    message: StoredMessage,
    ackWithin: number,
  ): Promise<void> {
    const state = await this.d.userState.ask({ tenant, sub, stream: streamOf(tenant, channel) });
    // Uncertain (a node did not answer): assume connected, so the push waits for `ackWithin`.
    const offline = !state.live && state.complete;
    const due = this.entryOf(
      tenant,
      sub,
      channel,
      epoch,
      message.offset,
      offline ? 'offline' : 'unacked',
      offline ? this.d.now() : message.ts + ackWithin,
    );
    await this.enter(due);
  }

  private entryOf(
    tenant: string,
    sub: string,
    channel: string,
    epoch: string,
    offset: number,
    reason: PushDue['reason'],
    dueAt: number,
  ): PushDue {
    const key = pushKeyOf(streamOf(tenant, channel), epoch, offset, sub);
    return { key, tenant, sub, channel, epoch, offset, reason, dueAt, attempts: 0, done: [] };
  }

  private async enter(due: PushDue): Promise<void> {
    const claimed = await this.d.push.schedule(due, this.d.options.claimTtlMs, this.d.now());
    if (!claimed) return;
    this.d.stats.values.push.candidates++;
    this.wake(due.dueAt);
  }

  /** Drains at `at` (or sooner): one timer, for the earliest known due time. */
  private wake(at: number): void {
    if (this.stopped || at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAt = Infinity;
        this.kick();
      },
      Math.max(0, at - this.d.now()),
    );
    this.wakeTimer.unref();
  }

  private async drain(): Promise<void> {
    const { push, options, now, log } = this.d;
    try {
      for (;;) {
        if (this.stopped) return;
        const at = now();
        const entries = await push.takeDue(at, TAKE_BATCH, at + options.leaseMs);
        await Promise.all(entries.map((entry) => this.track(this.handle(entry))));
        if (entries.length < TAKE_BATCH) break;
      }
      if (now() - this.lastClaimPrune >= CLAIM_PRUNE_MS) {
        this.lastClaimPrune = now();
        await push.pruneClaims(now());
      }
    } catch (err) {
      log.warn({ err }, 'push drain failed; next poll retries');
    }
  }

  private async handle(due: PushDue): Promise<void> {
    try {
      await this.attempt(due);
    } catch (err) {
      // The lease runs out and this (or another) node takes it again.
      this.d.log.warn({ err, key: due.key }, 'push attempt failed; it will be taken again after its lease');
    }
  }

  private async attempt(due: PushDue): Promise<void> {
    const { stats, push, store, relevance, now } = this.d;
    const funnel = stats.values.push;
    const stream = streamOf(due.tenant, due.channel);
    const state = await this.d.userState.ask({ tenant: due.tenant, sub: due.sub, stream });
    if (state.acked >= due.offset) {
      funnel.suppressedByAck++;
      return push.finish(due.key);
    }
    const verdict = await checkRelevance(store, relevance, stream, due, now());
    if (!verdict.relevant) {
      funnel.suppressedByRelevance++;
      if (verdict.rule) stats.countDrop('push', verdict.rule);
      this.d.log.debug({ key: due.key, why: verdict.why }, 'push suppressed: no longer relevant');
      return push.finish(due.key);
    }
    const targets = (await this.targetsOf(due)).filter(
      (t) => !due.done.includes(targetKeyOf(t.provider.name, t.device)),
    );
    if (targets.length === 0 && due.attempts === 0) funnel.noTarget++;
    const notice = noticeOf(due, verdict.message, relevance.traitsOf(verdict.message, due.channel).expiresAt);
    const outcomes = await Promise.all(targets.map(async (t) => ({ t, outcome: await this.sendOne(t, notice) })));
    const retrying: Target[] = [];
    let afterMs: number | undefined;
    for (const { t, outcome } of outcomes) {
      if (outcome.result === 'retry') {
        retrying.push(t);
        if (outcome.afterMs !== undefined) afterMs = Math.max(afterMs ?? 0, outcome.afterMs);
        continue;
      }
      due.done.push(targetKeyOf(t.provider.name, t.device));
      count(funnel[outcome.result], t.provider.name);
      if (outcome.result === 'gone' && t.device) {
        await push.unregisterDevices(t.device.tenant, t.device.sub, {
          provider: t.device.provider,
          token: t.device.token,
        });
      }
      if (outcome.result !== 'sent')
        this.d.log.info({ key: due.key, provider: t.provider.name, ...outcome }, 'push not sent');
    }
    due.attempts++;
    if (retrying.length === 0) return push.finish(due.key);
    if (due.attempts >= this.d.options.maxAttempts) {
      for (const t of retrying) count(funnel.failed, t.provider.name);
      return push.finish(due.key);
    }
    funnel.retries += retrying.length;
    due.dueAt = now() + (afterMs ?? this.backoff(due.attempts));
    await push.reschedule(due);
    this.wake(due.dueAt);
  }

  private async sendOne(target: Target, notice: PushNotice): Promise<PushOutcome> {
    try {
      return await target.provider.send(notice, target.device);
    } catch (err) {
      // A provider should answer with an outcome; one that throws is treated like a network error.
      return { result: 'retry', afterMs: undefined, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private async targetsOf(due: PushDue): Promise<Target[]> {
    const targets: Target[] = [];
    let devices: PushDevice[] | undefined;
    for (const provider of this.providers) {
      if (!provider.perDevice) {
        targets.push({ provider, device: undefined });
        continue;
      }
      devices ??= await this.d.push.devicesOf(due.tenant, due.sub);
      for (const device of devices) if (device.provider === provider.name) targets.push({ provider, device });
    }
    return targets;
  }

  /** Full jitter over a doubling delay (`retryBaseMs`, ×2 per round, at most `retryMaxMs`). */
  private backoff(attempts: number): number {
    const { retryBaseMs, retryMaxMs } = this.d.options;
    return Math.round(Math.random() * Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1)));
  }

  private track<T>(work: Promise<T>): Promise<T | undefined> {
    const tracked = work.catch((err: unknown) => {
      this.d.log.warn({ err }, 'push fallback step failed');
      return undefined;
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }
}

function noticeOf(due: PushDue, message: StoredMessage, expiresAt: number | undefined): PushNotice {
  return {
    id: message.id,
    tenant: due.tenant,
    sub: due.sub,
    channel: due.channel,
    epoch: due.epoch,
    offset: due.offset,
    type: message.type,
    data: message.data,
    priority: message.priority ?? 'normal',
    collapseKey: message.collapseKey,
    expiresAt,
    reason: due.reason,
  };
}

function count(counter: Record<string, number>, provider: string): void {
  counter[provider] = (counter[provider] ?? 0) + 1;
}
