/**
 * A SQLite or memory node never loads ioredis or the Socket.IO Redis adapter (store/redis-modules.ts):
 * module loading is part of every restart's outage. The built CLI runs as a child with a probe
 * (`redis-probe.mjs`, via NODE_OPTIONS) that counts those modules at exit; a node with a Redis URL
 * shows that the probe sees them. Needs `npm run build` first.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startRedis, startServerProcess, type RedisServer } from '@tether/testing';

const probe = fileURLToPath(new URL('./redis-probe.mjs', import.meta.url));
const withProbe = { NODE_OPTIONS: `--import=${probe}` };
const PROBE_LINE = /redis-probe: (\d+) redis modules loaded/;

/** Starts `tether serve` with the probe, opens one client on it, stops it; the probe's count. */
async function redisModulesLoaded(store: string | undefined): Promise<number> {
  const proc = await startServerProcess({ ...(store ? { store } : {}), env: withProbe });
  try {
    const client = await connectClient(proc.url, await proc.token({ sub: 'lazy-redis' }));
    client.close();
  } finally {
    await proc.stop();
  }
  const count = PROBE_LINE.exec(proc.stderr())?.[1];
  if (count === undefined) throw new Error(`no probe line in the output:\n${proc.output()}`);
  return Number(count);
}

describe('Redis modules load only on a node with a Redis URL', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('a SQLite node (the default store) serves a client without loading them', async () => {
    expect(await redisModulesLoaded(undefined)).toBe(0);
  });

  it('a memory node neither', async () => {
    expect(await redisModulesLoaded('memory')).toBe(0);
  });

  it('a Redis node loads them (the probe sees them when they are there)', async () => {
    expect(await redisModulesLoaded(redis.url)).toBeGreaterThan(0);
  });
});
