import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface NodeInfo {
  nodeId: string;
  host: string;
  pid: number;
  startedAt: number;
  /** Last heartbeat, ms since the Unix epoch. */
  seenAt: number;
}

export interface NodeRegistryOptions {
  keyPrefix: string;
  /** Heartbeat period. A node unseen for 3 periods is gone. Default 5000. */
  heartbeatMs: number;
  /** Called with the ids of nodes that stopped heartbeating (presence purges their entries). */
  onNodeGone?: (nodeId: string) => void;
  /**
   * Called with the ids of nodes that appeared since the last heartbeat (new, or back after being
   * gone), with the number of live nodes; not for the nodes already there at this node's first one.
   */
  onNodeUp?: (nodeId: string, liveNodes: number) => void;
}

export function newNodeId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Node identity and liveness in Redis: every node refreshes a key with a TTL and its score in a
 * sorted set; a node whose key expired is gone, and each surviving node notices and says so once.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  private known = new Set<string>();
  private beats = 0;
  private readonly info: Omit<NodeInfo, 'seenAt'>;

  constructor(
    private readonly redis: Redis,
    readonly nodeId: string,
    private readonly options: NodeRegistryOptions,
    private readonly log: Logger,
  ) {
    this.info = { nodeId, host: os.hostname(), pid: process.pid, startedAt: Date.now() };
  }

  private get setKey(): string {
    return `${this.options.keyPrefix}nodes`;
  }

  private nodeKey(nodeId: string): string {
    return `${this.options.keyPrefix}node:${nodeId}`;
  }

  start(): void {
    const beat = (): void => {
      this.heartbeat().catch((err: unknown) => this.log.warn({ err }, 'node heartbeat failed (Redis down?)'));
    };
    beat();
    this.timer = setInterval(beat, this.options.heartbeatMs);
    this.timer.unref();
  }

  async heartbeat(now = Date.now()): Promise<void> {
    const ttl = this.options.heartbeatMs * 3;
    await this.redis
      .multi()
      .set(this.nodeKey(this.nodeId), JSON.stringify({ ...this.info, seenAt: now }), 'PX', ttl)
      .zadd(this.setKey, now, this.nodeId)
      .exec();
    const { live, expired } = await this.readNodes(now);
    const liveIds = new Set(live.map((n) => n.nodeId));
    for (const nodeId of this.known) {
      // Gone means "listed, and its key expired". A node not even listed was lost with Redis's data
      // (restarted empty, flushed): it is not gone, it reappears with its next heartbeat.
      if (!liveIds.has(nodeId) && expired.has(nodeId)) {
        this.log.warn({ nodeId }, 'node gone');
        this.options.onNodeGone?.(nodeId);
      }
    }
    if (this.beats++ > 0) {
      for (const nodeId of liveIds) if (!this.known.has(nodeId)) this.options.onNodeUp?.(nodeId, liveIds.size);
    }
    this.known = liveIds;
  }

  /** Nodes whose heartbeat key is still alive; forgets (once) the ids of the others. */
  async liveNodes(now = Date.now()): Promise<NodeInfo[]> {
    return (await this.readNodes(now)).live;
  }

  private async readNodes(now: number): Promise<{ live: NodeInfo[]; expired: Set<string> }> {
    const ids = await this.redis.zrange(this.setKey, 0, -1);
    if (ids.length === 0) return { live: [], expired: new Set() };
    const values = await this.redis.mget(ids.map((id) => this.nodeKey(id)));
    const live: NodeInfo[] = [];
    const dead: string[] = [];
    values.forEach((value, i) => {
      if (value) live.push(JSON.parse(value) as NodeInfo);
      else dead.push(ids[i]!);
    });
    // Stale members linger a while so that every survivor sees them go before they are dropped.
    const staleBefore = now - this.options.heartbeatMs * 10;
    if (dead.length > 0) await this.redis.zremrangebyscore(this.setKey, '-inf', staleBefore);
    return { live, expired: new Set(dead) };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis
      .multi()
      .del(this.nodeKey(this.nodeId))
      .zrem(this.setKey, this.nodeId)
      .exec()
      .catch(() => undefined);
  }
}
