/**
 * ioredis and the Socket.IO Redis adapter, loaded on first use: a SQLite or memory node never
 * loads them (~0.4 s of module loading at start on a busy 2-core box, which is outage time on a
 * restart). Both are CommonJS, so `require` loads them synchronously and the constructors that
 * open a Redis connection stay synchronous.
 */
import { createRequire } from 'node:module';
import type * as IoRedis from 'ioredis';
import type * as RedisAdapter from '@socket.io/redis-adapter';

const require = createRequire(import.meta.url);

export function ioredis(): typeof IoRedis {
  return require('ioredis') as typeof IoRedis;
}

export function redisAdapter(): typeof RedisAdapter {
  return require('@socket.io/redis-adapter') as typeof RedisAdapter;
}
