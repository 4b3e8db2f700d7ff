/**
 * A cluster node whose Redis went away: its liveness writes fail fast instead of queueing (ioredis'
 * default holds a command through 20 reconnects, ~35 s, then rejects it where nobody listens), so
 * the node still shuts down promptly and leaves no unhandled rejection behind.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTetherServer } from '@tether/server';
import { startRedis, type RedisServer } from '@tether/testing';

let redis: RedisServer | undefined;
afterEach(async () => {
  await redis?.stop();
});

describe('a cluster node whose Redis is gone', () => {
  it('closes within seconds, with its heartbeats failing fast meanwhile', async () => {
    redis = await startRedis();
    const server = await createTetherServer({
      store: 'memory',
      logger: false,
      jwtSecret: randomBytes(32).toString('base64url'),
      cluster: { redisUrl: redis.url, heartbeatMs: 100 },
    });
    await server.listen(0);
    expect(await server.liveNodes()).toHaveLength(1);
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 500)); // several heartbeats fail meanwhile
    const started = Date.now();
    await server.close();
    // Queued liveness writes used to hold close() for ~35 s (20 reconnect attempts).
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
