import type { LogStore } from '../store/types.js';
import { ChannelState } from './channel-state.js';

/** `<tenant>/<channel>`: the store's stream name and the Socket.IO room. Tenants never contain `/`. */
export function streamOf(tenant: string, channel: string): string {
  return `${tenant}/${channel}`;
}

/**
 * The node's active channels. Creation is single-flight, so a publish and a subscribe racing on a
 * new channel share one state (and one head). States with no local subscribers and no recent
 * activity are evicted by `evictIdle`.
 */
export class ChannelRegistry {
  private readonly states = new Map<string, ChannelState>();
  private readonly creating = new Map<string, Promise<ChannelState>>();

  constructor(
    private readonly store: LogStore,
    private readonly recentPerChannel: number,
  ) {}

  peek(stream: string): ChannelState | undefined {
    return this.states.get(stream);
  }

  /** The state being created for `stream`, if creation is underway. */
  creation(stream: string): Promise<ChannelState> | undefined {
    return this.creating.get(stream);
  }

  /** The state of `stream` if it is active here or being created; never creates one. */
  async existing(stream: string): Promise<ChannelState | undefined> {
    return this.states.get(stream) ?? this.creating.get(stream);
  }

  async get(tenant: string, channel: string): Promise<ChannelState> {
    const stream = streamOf(tenant, channel);
    const known = this.states.get(stream);
    if (known) return known;
    let pending = this.creating.get(stream);
    if (!pending) {
      pending = this.store
        .info(stream)
        .then((info) => {
          const state = new ChannelState(stream, tenant, channel, info, this.recentPerChannel);
          this.states.set(stream, state);
          return state;
        })
        .finally(() => this.creating.delete(stream));
      this.creating.set(stream, pending);
    }
    return pending;
  }

  /**
   * Drops states nobody here uses that have been quiet for `idleMs`, and at once those that never
   * carried a message (head 0: a subscribe to a never-written name left them with nothing to keep);
   * `isBusy` guards in-flight publishes.
   */
  evictIdle(now: number, idleMs: number, isBusy: (state: ChannelState) => boolean): void {
    for (const [stream, state] of this.states) {
      const idle = state.head === 0 || now - state.lastActiveAt >= idleMs;
      if (state.subscribers === 0 && idle && !isBusy(state)) {
        this.states.delete(stream);
      }
    }
  }

  all(): IterableIterator<ChannelState> {
    return this.states.values();
  }
}
