/**
 * Node liveness in Redis (cluster/node-registry.ts): a node whose heartbeat key expired is reported
 * gone once by a survivor; a node lost with Redis's data (restarted empty, flushed) is not gone —
 * it comes back with its next heartbeat — so nothing purges or alerts on it.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '@tether/testing';
import { NodeRegistry } from '../src/cluster/node-registry.js';

let redis: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

const HEARTBEAT_MS = 100; // a key lives 3 heartbeats: 300 ms

function registry(nodeId: string, prefix: string, gone: string[]): NodeRegistry {
  const client = new Redis(redis.url);
  clients.push(client);
  return new NodeRegistry(
    client,
    nodeId,
    { keyPrefix: prefix, heartbeatMs: HEARTBEAT_MS, onNodeGone: (id) => gone.push(id) },
    pino({ level: 'silent' }),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('NodeRegistry', () => {
  it('reports a node whose key expired as gone, once', async () => {
    const gone: string[] = [];
    const a = registry('a', 'nr1:', gone);
    const b = registry('b', 'nr1:', []);
    await b.heartbeat();
    await a.heartbeat();
    expect((await a.liveNodes()).map((n) => n.nodeId).sort()).toEqual(['a', 'b']);
    await sleep(3 * HEARTBEAT_MS + 200); // b stops beating (as if SIGKILLed): its key expires
    await a.heartbeat();
    await a.heartbeat();
    expect(gone).toEqual(['b']);
    expect((await a.liveNodes()).map((n) => n.nodeId)).toEqual(['a']);
  });

  it('does not report nodes lost with Redis data (flushed) as gone: they come back', async () => {
    const gone: string[] = [];
    const a = registry('a', 'nr2:', gone);
    const b = registry('b', 'nr2:', []);
    await b.heartbeat();
    await a.heartbeat();
    await redis.command('FLUSHALL');
    await a.heartbeat(); // sees only itself: b is unlisted, not expired
    expect(gone).toEqual([]);
    await b.heartbeat();
    await a.heartbeat();
    expect((await a.liveNodes()).map((n) => n.nodeId).sort()).toEqual(['a', 'b']);
    expect(gone).toEqual([]);
  });
});
