/**
 * Who sends an event: the first node to claim its key within the cooldown. In a cluster the claim
 * is `SET key NX PX cooldown` on the cluster's Redis (one alert per event, not one per node); on a
 * single node, or while that Redis does not answer (a store-down alert when the store is that
 * Redis), a claim in this process's memory.
 */
import type { Redis } from 'ioredis';

export class EventClaims {
  private readonly local = new Map<string, number>();
  private redis: { client: Redis; prefix: string } | undefined;

  /** `timeoutMs`: a Redis claim unanswered by then (commands queue while Redis is away) falls back to memory. */
  constructor(
    private readonly now: () => number,
    private readonly timeoutMs: number,
  ) {}

  /** Claims go to this Redis from now on (the cluster joined). */
  share(client: Redis, keyPrefix: string): void {
    this.redis = { client, prefix: `${keyPrefix}alert:` };
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  /** True for the one caller that may send `key` now; false within its cooldown. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (this.redis) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const set = await Promise.race([
          this.redis.client.set(`${this.redis.prefix}${key}`, String(this.now()), 'PX', ttlMs, 'NX'),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer')), this.timeoutMs);
          }),
        ]);
        return set === 'OK';
      } catch {
        // Redis away: fall through to this node's own claim (better one alert per node than none).
      } finally {
        clearTimeout(timer);
      }
    }
    const at = this.now();
    const until = this.local.get(key);
    if (until !== undefined && until > at) return false;
    this.local.set(key, at + ttlMs);
    if (this.local.size > 1000) {
      for (const [k, u] of this.local) if (u <= at) this.local.delete(k);
    }
    return true;
  }

  /** Notes, cluster-wide, that a node went down (kept for `ttlMs`), so that its return is an event. */
  async markDown(nodeId: string, ttlMs: number): Promise<void> {
    await this.redis?.client.set(`${this.redis.prefix}was-down:${nodeId}`, '1', 'PX', ttlMs);
  }

  /** True for the one caller that sees a node come back after it was noted down. */
  async takeDown(nodeId: string): Promise<boolean> {
    if (!this.redis) return false;
    return (await this.redis.client.del(`${this.redis.prefix}was-down:${nodeId}`)) === 1;
  }
}
