import type { Logger } from 'pino';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { AppendInput, AppendResult, LogStore, StoredMessage } from '../store/types.js';
import { streamOf, type ChannelRegistry } from './channel-registry.js';
import type { ChannelState } from './channel-state.js';
import type { Fanout } from './fanout.js';
import type { StatsCounter } from './stats.js';
import type { PublishResult } from '../api.js';

interface PendingPublish {
  input: AppendInput;
  /** Settled with the append's result, or (`answer`) with the publisher's answer made of it. */
  resolve: (result: AppendResult | PublishResult) => void;
  reject: (err: TetherError) => void;
  answer: boolean;
}

/** Inputs appended in one store call at most; bounds a transaction and a frame. */
const MAX_BATCH = 1000;

export interface PublisherDeps {
  store: LogStore;
  registry: ChannelRegistry;
  fanout: Fanout;
  stats: StatsCounter;
  log: Logger;
}

/**
 * Publish → append → fan-out. Publishes made in one event-loop turn are flushed together by ONE
 * scheduled callback for every channel that has some (group commit: the SQLite store writes the
 * turn's appends in one transaction, the Redis store's client sends them in one pipeline). Per
 * channel they are appended in one store call and handed to the fan-out as one batch, which goes
 * out as ONE plain room broadcast (one frame), so the transport's fast paths apply and no
 * per-subscriber work is done per message. One flush per channel at a time keeps this node's
 * appends in offset order; what a channel queues meanwhile waits for the turn after its flush.
 */
export class Publisher {
  private readonly queues = new Map<ChannelState, PendingPublish[]>();
  private readonly flushing = new Set<ChannelState>();
  private readonly idle = new Set<() => void>();
  /** Publishes accepted and not yet settled, including those still creating their channel state. */
  private inFlight = 0;
  /** True while a turn's flush is scheduled. */
  private scheduled = false;

  private readonly store: LogStore;
  private readonly registry: ChannelRegistry;
  private readonly fanout: Fanout;
  private readonly stats: StatsCounter;
  private readonly log: Logger;

  constructor(deps: PublisherDeps) {
    this.store = deps.store;
    this.registry = deps.registry;
    this.fanout = deps.fanout;
    this.stats = deps.stats;
    this.log = deps.log;
  }

  publish(tenant: string, channel: string, input: AppendInput): Promise<AppendResult> {
    return this.submit(tenant, channel, input, false) as Promise<AppendResult>;
  }

  /**
   * `publish`, settled with the answer a publisher gets (`answerOf` the result): the one promise
   * of the publish, where mapping `publish`'s would make a second per message.
   */
  publishForAnswer(tenant: string, channel: string, input: AppendInput): Promise<PublishResult> {
    return this.submit(tenant, channel, input, true) as Promise<PublishResult>;
  }

  private submit(
    tenant: string,
    channel: string,
    input: AppendInput,
    answer: boolean,
  ): Promise<AppendResult | PublishResult> {
    this.inFlight++;
    // A known channel is queued in this very call: no promise to wait for, none made but the answer's.
    const known = this.registry.peek(streamOf(tenant, channel));
    if (known) return this.enqueue(known, input, answer);
    return this.registry.get(tenant, channel).then(
      (state) => this.enqueue(state, input, answer),
      (err: unknown) => {
        this.settled();
        throw err;
      },
    );
  }

  /** Queues `input` for the turn's flush; its promise settles when its batch is appended (and fanned out) or failed. */
  private enqueue(state: ChannelState, input: AppendInput, answer: boolean): Promise<AppendResult | PublishResult> {
    return new Promise<AppendResult | PublishResult>((resolve, reject) => {
      let queue = this.queues.get(state);
      if (!queue) this.queues.set(state, (queue = []));
      queue.push({ input, resolve, reject, answer });
      this.schedule();
    });
  }

  isBusy(state: ChannelState): boolean {
    return this.flushing.has(state) || this.queues.has(state);
  }

  /** Resolves once every accepted publish has been appended and fanned out (or failed). */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** One flush per turn for all channels: after the turn's other publishes (`setImmediate`). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const state of this.queues.keys()) if (!this.flushing.has(state)) this.flush(state);
    });
  }

  private flush(state: ChannelState): void {
    const queue = this.queues.get(state);
    if (!queue) return;
    // The whole queue when it fits (most turns: no copy of it), else its first MAX_BATCH.
    const batch = queue.length <= MAX_BATCH ? queue : queue.splice(0, MAX_BATCH);
    if (batch === queue) this.queues.delete(state);
    this.flushing.add(state);
    // A store that writes synchronously (memory) is flushed within this call: no promise per channel.
    if (this.store.appendNow) this.flushNow(state, batch);
    else void this.flushAsync(state, batch);
  }

  private flushNow(state: ChannelState, batch: PendingPublish[]): void {
    try {
      this.appended(state, batch, this.store.appendNow!(state.stream, inputsOf(batch)));
    } catch (err) {
      this.failed(state, batch, err);
    } finally {
      this.flushed(state, batch.length);
    }
  }

  private async flushAsync(state: ChannelState, batch: PendingPublish[]): Promise<void> {
    try {
      this.appended(state, batch, await this.store.append(state.stream, inputsOf(batch)));
    } catch (err) {
      this.failed(state, batch, err);
    } finally {
      this.flushed(state, batch.length);
    }
  }

  /** The batch is written: fanned out, then each publish answered. */
  private appended(state: ChannelState, batch: readonly PendingPublish[], results: readonly AppendResult[]): void {
    this.fanOut(state, results);
    for (let i = 0; i < batch.length; i++) {
      const pending = batch[i]!;
      pending.resolve(pending.answer ? answerOf(results[i]!) : results[i]!);
    }
  }

  private failed(state: ChannelState, batch: readonly PendingPublish[], err: unknown): void {
    const error = TetherError.from(err, ErrorCode.StoreUnavailable);
    this.log.error({ err, stream: state.stream }, 'append failed; publishes rejected');
    for (const p of batch) p.reject(error);
  }

  private flushed(state: ChannelState, count: number): void {
    this.settled(count);
    this.flushing.delete(state);
    // What queued meanwhile (or beyond MAX_BATCH) goes with the next turn's flush.
    if (this.queues.has(state)) this.schedule();
  }

  private fanOut(state: ChannelState, results: readonly AppendResult[]): void {
    const fresh: StoredMessage[] = [];
    let epoch: string | undefined;
    for (const result of results) {
      if (result.duplicate) continue;
      epoch ??= result.epoch;
      fresh.push(result.message);
    }
    this.stats.values.duplicatesIgnored += results.length - fresh.length;
    if (epoch !== undefined) this.fanout.appended(state, epoch, fresh);
  }

  /** `count` accepted publishes settled (appended and fanned out, or failed). */
  private settled(count = 1): void {
    this.inFlight -= count;
    if (this.inFlight === 0) this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = [...this.idle];
    this.idle.clear();
    for (const wake of waiters) wake();
  }
}

/** What the publisher is answered: where the message is (or was, for a duplicate). */
export function answerOf(result: AppendResult): PublishResult {
  return { offset: result.offset, epoch: result.epoch, duplicate: result.duplicate };
}

function inputsOf(batch: readonly PendingPublish[]): AppendInput[] {
  const inputs = new Array<AppendInput>(batch.length);
  for (let i = 0; i < batch.length; i++) inputs[i] = batch[i]!.input;
  return inputs;
}
