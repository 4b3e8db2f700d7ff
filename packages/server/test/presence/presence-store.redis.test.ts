/** The shared PresenceStore conformance suite against the Redis engine, on a private redis-server. */
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '@tether/testing';
import { RedisPresenceStore } from '../../src/presence/redis-presence-store.js';
import { describePresenceStore } from './presence-store-conformance.js';

let server: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

// A fresh key prefix per store: every test starts from an empty presence.
describePresenceStore('redis', () => new RedisPresenceStore(server.url, { keyPrefix: `conf${++prefixes}:` }));
