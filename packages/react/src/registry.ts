/**
 * One subscription per channel per client, reference-counted. `client.subscribe` refuses a channel
 * it already has (one handler per channel), and each subscription is one presence membership on
 * the server: so the hooks never subscribe per component. The first user of a channel opens its
 * entry; every hook mounted on it holds it; the last release closes it only after
 * `releaseDelayMs`, and a user that comes back before then keeps the same subscription. That is
 * what makes StrictMode's mount → unmount → mount one subscription (one join, no leave), and a
 * component moved in the tree (unmounted, mounted again in one commit) no leave and rejoin.
 */
import type { TetherClient } from '@tether/client';
import { ChannelEntry } from './channel-entry.js';

/** How long a channel's subscription outlives its last user (ms). */
export const DEFAULT_RELEASE_DELAY_MS = 1000;

const registries = new WeakMap<TetherClient, ChannelRegistry>();

export class ChannelRegistry {
  /** Set by the provider (`releaseDelayMs`). */
  releaseDelayMs = DEFAULT_RELEASE_DELAY_MS;
  private readonly entries = new Map<string, ChannelEntry>();

  private constructor(readonly client: TetherClient) {}

  /** The registry of `client`: one per client, however many providers share it. */
  static of(client: TetherClient): ChannelRegistry {
    let registry = registries.get(client);
    if (!registry) registries.set(client, (registry = new ChannelRegistry(client)));
    return registry;
  }

  /** The channel's entry, opened if needed, with one more user: pair each call with `release`. */
  acquire(channel: string): ChannelEntry {
    let entry = this.entries.get(channel);
    if (!entry) this.entries.set(channel, (entry = new ChannelEntry(this.client, channel)));
    entry.hold();
    return entry;
  }

  /** One user of `entry` fewer; the last one's release closes it after `releaseDelayMs`. */
  release(entry: ChannelEntry): void {
    entry.drop(this.releaseDelayMs, () => {
      if (this.entries.get(entry.channel) !== entry) return;
      this.entries.delete(entry.channel);
      entry.close(this.client);
    });
  }

  /** The channel's entry if it is open (nothing is opened). */
  peek(channel: string): ChannelEntry | undefined {
    return this.entries.get(channel);
  }

  /** Channels open now (held, or within their release delay). */
  channels(): string[] {
    return [...this.entries.keys()];
  }

  /** Forgets every entry at once (the client is closing: its subscriptions end with it). */
  closeAll(): void {
    for (const entry of this.entries.values()) entry.close(this.client);
    this.entries.clear();
  }
}
