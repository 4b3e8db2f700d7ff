/**
 * Each node's share of the cluster's figures, in Redis: one key per node (`{<prefix>stats}:node:<id>`,
 * one hash tag, so a single MGET reads them all on a Redis Cluster too) with a TTL of a few sharing
 * periods, so a node that stops sharing drops out of the sum by itself. Written every sampling
 * period by the node itself, read whenever `/v1/stats` is asked.
 */
import type { Redis } from 'ioredis';

export class StatsBoard {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private keyOf(nodeId: string): string {
    return `{${this.keyPrefix}stats}:node:${nodeId}`;
  }

  /** Writes this node's share, kept `ttlMs`. */
  async put(nodeId: string, share: unknown, ttlMs: number): Promise<void> {
    await this.redis.set(this.keyOf(nodeId), JSON.stringify(share), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  /** The shares of these nodes, by node id (a node without a live key is absent). */
  async read(nodeIds: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (nodeIds.length === 0) return out;
    const values = await this.redis.mget(nodeIds.map((id) => this.keyOf(id)));
    values.forEach((value, i) => {
      if (value === null) return;
      try {
        out.set(nodeIds[i]!, JSON.parse(value) as unknown);
      } catch {
        // A value this version cannot read (another version of a node wrote it) is left out.
      }
    });
    return out;
  }

  async remove(nodeId: string): Promise<void> {
    await this.redis.del(this.keyOf(nodeId)).catch(() => undefined);
  }
}
