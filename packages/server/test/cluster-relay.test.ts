/**
 * The Redis adapter relay on its own: two in-process nodes on one private Redis with the head
 * check turned far down (10 min), so that anything reaching node B within a second came through
 * the relay — before and after Redis restarts (the adapter's sharded subscriptions must come back).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, startRedis, waitUntil, type RedisServer } from '@tether/testing';

const beds: TestBed[] = [];
let redis: RedisServer | undefined;

afterEach(async () => {
  for (const bed of beds.splice(0)) await bed.close();
  await redis?.stop();
  redis = undefined;
});

async function twoNodes(url: string): Promise<[TestBed, TestBed]> {
  const jwtSecret = randomBytes(32).toString('base64url');
  const nodes: TestBed[] = [];
  for (let i = 0; i < 2; i++) {
    const bed = new TestBed();
    beds.push(bed);
    await bed.start({ store: url, jwtSecret, headCheckIntervalMs: 600_000 });
    nodes.push(bed);
  }
  return [nodes[0]!, nodes[1]!];
}

describe('cluster relay through the Socket.IO Redis adapter', () => {
  it('carries batches from node A to node B live, and again after Redis restarts', async () => {
    redis = await startRedis({ appendonly: true });
    const [a, b] = await twoNodes(redis.url);
    expect(a.server.server.nodeId).toBeTruthy();
    expect(a.server.server.nodeId).not.toBe(b.server.server.nodeId);
    await waitUntil(
      async () => ((await a.server.server.liveNodes()).length === 2 ? true : undefined),
      5000,
      'two nodes alive',
    );

    const onB = await b.connect({ sub: 'u', channels: ['room:*'] });
    await onB.sub('room:relay');
    for (let i = 1; i <= 5; i++) await a.server.server.publish({ channel: 'room:relay', type: 't', data: i });
    await onB.messages.waitForCount(5, { timeoutMs: 1000 });
    expect(onB.messages.offsets('room:relay')).toEqual([1, 2, 3, 4, 5]);

    await redis.kill();
    await expect(a.server.server.publish({ channel: 'room:relay', type: 't', data: 'down' })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    await redis.restart();
    await waitUntil(async () => ((await a.server.server.ready()) ? true : undefined), 10_000, 'node A ready again');
    // The adapter's subscriber reconnects by itself; give it a moment, then the relay must carry again.
    await waitUntil(
      async () => {
        const before = onB.messages.messages.length;
        await a.server.server.publish({ channel: 'room:relay', type: 't', data: 'after' });
        try {
          await onB.messages.waitForCount(before + 1, { timeoutMs: 500 });
          return true;
        } catch {
          return undefined;
        }
      },
      10_000,
      'relay after the restart',
    );
    const offsets = onB.messages.offsets('room:relay');
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, k) => k + 1));
  });
});
