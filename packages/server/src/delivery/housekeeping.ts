/**
 * The node's periodic channel maintenance: idle channel states forgotten and the store pruned every
 * `pruneIntervalMs`; in a cluster, the heads checked every `headCheckIntervalMs`, so that a lost
 * relay batch or a store that lost its log still reaches this node's subscribers even if nothing
 * is published again. Timers never keep the process alive.
 */
import type { Logger } from 'pino';
import type { LogStore } from '../store/types.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Fanout } from './fanout.js';
import type { Publisher } from './publisher.js';

/** Channel states idle this long with no local subscriber are forgotten (they reload from the store). */
const CHANNEL_IDLE_MS = 60_000;

export interface HousekeepingDeps {
  registry: ChannelRegistry;
  publisher: Publisher;
  store: LogStore;
  fanout: Fanout;
  log: Logger;
  now: () => number;
  pruneIntervalMs: number;
  /** Undefined on a node alone: its heads cannot move without it. */
  headCheckIntervalMs: number | undefined;
}

export class Housekeeping {
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly deps: HousekeepingDeps) {}

  start(): void {
    const { registry, publisher, store, fanout, log, now } = this.deps;
    this.every(this.deps.pruneIntervalMs, () => {
      const at = now();
      registry.evictIdle(at, CHANNEL_IDLE_MS, (state) => publisher.isBusy(state));
      store.prune(at).catch((err: unknown) => log.warn({ err }, 'prune failed'));
    });
    if (this.deps.headCheckIntervalMs !== undefined) {
      this.every(this.deps.headCheckIntervalMs, () => {
        fanout.reconcile().catch((err: unknown) => log.warn({ err }, 'head check failed'));
      });
    }
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
