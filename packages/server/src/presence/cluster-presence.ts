/**
 * Presence in a cluster (docs/presence.md, "Cluster"): each node holds a lease in Redis and renews
 * it every third of its length; when a node's lease expires, the survivors notice at their next
 * renewal and purge it (exactly one of them gets its users back, see `purgeNode`), and that one
 * sends the leaves, once. When this node finds its own lease gone, Redis lost it (a restart left
 * it empty, or this node was silent past its lease and was purged): it writes its live entries back,
 * silently. The same after any reconnection to Redis, followed by removing the node's entries that
 * are no longer live (a removal that failed while Redis was away), with their leaves.
 *
 * Presence has its own lease rather than the cluster's node heartbeat: its length is a presence
 * setting (`presenceLeaseMs`), and the set of nodes that own entries outlives every node, so that a
 * cluster stopped as a whole leaves no ghosts once a node starts again.
 */
import type { Logger } from 'pino';
import { RedisPresenceStore } from './redis-presence-store.js';
import type { DeviceEntry, MembershipKey, PresenceStore, PurgedUser } from './types.js';

/**
 * The presence store of a cluster node: Redis, at the cluster's URL and key prefix, when presence
 * is on and the app gave no store of its own; undefined otherwise (one node: memory).
 */
export function clusterPresenceStore(
  cluster: { redisUrl: string; keyPrefix?: string } | false,
  presence: { store?: PresenceStore } | undefined,
): RedisPresenceStore | undefined {
  if (!cluster || !presence || presence.store) return undefined;
  return new RedisPresenceStore(cluster.redisUrl, { keyPrefix: cluster.keyPrefix ?? 'tether:' });
}

/** What cluster presence needs of the store besides the PresenceStore: the node leases (RedisPresenceStore). */
export interface NodeLeases {
  /** Renews the lease; true when it was missing (new node, or Redis lost it). */
  renewLease(nodeId: string, leaseMs: number): Promise<boolean>;
  /** Nodes that own entries but hold no lease, `self` excluded. */
  expiredNodes(self: string): Promise<string[]>;
  /** Removes this node's entries that are not in `live`; answers the users that lost channels or went offline by it. */
  reconcileNode(nodeId: string, live: { devices: DeviceEntry[]; memberships: MembershipKey[] }): Promise<PurgedUser[]>;
  /** Called on every (re)connection to Redis. */
  onReady(listener: () => void): void;
}

/** What cluster presence needs of this node's presence tracker. */
export interface PresenceTrackerSeam {
  /** Sends the leaves (and offline updates) of users a purge removed, once. */
  applyPurged(purged: PurgedUser[]): void | Promise<void>;
  /** This node's live devices and memberships, as written to the store. */
  liveEntries(): { devices: DeviceEntry[]; memberships: MembershipKey[] };
}

export interface ClusterPresenceOptions {
  store: PresenceStore & NodeLeases;
  tracker: PresenceTrackerSeam;
  nodeId: string;
  /** How long a node's lease lasts without renewal (renewed every third). Default 15_000. */
  leaseMs: number;
  log: Logger;
}

export class ClusterPresence {
  private timer: NodeJS.Timeout | undefined;
  /** The beat in progress, and whether another was asked for meanwhile (beats never overlap). */
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /**
   * Redis was (re)connected: the next beat writes the live entries back and drops stale ones. True
   * at first too: entries of an earlier process that had this node id (`cluster.nodeId` set by hand)
   * go, with their leaves.
   */
  private resync = true;

  constructor(private readonly options: ClusterPresenceOptions) {}

  start(): void {
    const { leaseMs } = this.options;
    this.options.store.onReady(() => {
      this.resync = true;
      this.beatSoon();
    });
    this.beatSoon();
    this.timer = setInterval(() => this.beatSoon(), Math.max(1, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing; the lease is left to expire, so that clients reconnecting elsewhere within it see no leave. */
  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    return this.running ?? Promise.resolve();
  }

  /** Asks for a beat now (one at a time: a beat asked for while one runs follows it). */
  beatSoon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.beat()
      .catch((err: unknown) => this.options.log.warn({ err }, 'presence lease renewal failed (Redis down?)'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.beatSoon();
        }
      });
  }

  /**
   * Renews the lease; after Redis lost it or came back, makes Redis hold exactly this node's live
   * entries (writing back the missing, removing the stale and sending their leaves); then purges
   * the nodes whose lease expired.
   */
  private async beat(): Promise<void> {
    const { store, tracker, nodeId, leaseMs, log } = this.options;
    const lost = await store.renewLease(nodeId, leaseMs);
    if (lost || this.resync) {
      this.resync = false;
      await this.resynchronize(lost).catch((err: unknown) => {
        this.resync = true; // the next beat tries again
        throw err;
      });
    }
    for (const gone of await store.expiredNodes(nodeId)) {
      if (this.stopped) return;
      const purged = await store.purgeNode(gone);
      if (purged.length > 0) {
        log.warn({ nodeId: gone, users: purged.length }, 'presence of a gone node purged');
        await tracker.applyPurged(purged);
      }
    }
  }

  /** Writes this node's live entries back (missing ones only), then removes its stale ones and sends their leaves. */
  private async resynchronize(lost: boolean): Promise<void> {
    const { store, tracker, nodeId, log } = this.options;
    const { devices, memberships } = tracker.liveEntries();
    if (lost && devices.length + memberships.length > 0) {
      log.warn(
        { devices: devices.length, memberships: memberships.length },
        'presence lease lost (Redis emptied?); restoring live entries',
      );
    }
    await store.restore(devices, memberships);
    // Read again: what went away during the restore is stale now.
    const stale = await store.reconcileNode(nodeId, tracker.liveEntries());
    if (stale.length > 0) {
      log.warn({ users: stale.length }, 'presence entries that outlived their connections removed');
      await tracker.applyPurged(stale);
    }
  }
}
