/**
 * The Redis engine: the shared conformance suite on a private redis-server (never the system one),
 * then what only Redis has: several nodes publishing to one stream, Redis going down and coming
 * back, restarts with and without AOF, the prune registry.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, waitUntil, type RedisServer } from '@tether/testing';
import { openStore } from '../../src/store/index.js';
import { RedisLogStore, type RedisLogStoreOptions } from '../../src/store/redis-store.js';
import { UNWRITTEN_EPOCH, type AppendResult, type LogStore, type RetentionOptions } from '../../src/store/types.js';
import { runLogStoreConformance } from './conformance.js';
import { T0, expectStoreUnavailable, input, inputs, offsetsOf, range, readAll } from './conformance-fixtures.js';

let server: RedisServer;
let prefixes = 0;
let lastPrefix = '';
const opened: LogStore[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  for (const client of clients.splice(0)) client.disconnect();
  // Our own private server: flushing it is fine (never the system Redis).
  await server.command('FLUSHDB');
});

/** A unique key prefix per store made, so that two fresh stores never share streams. */
function freshStore(retention?: Partial<RetentionOptions>): RedisLogStore {
  prefixes += 1;
  lastPrefix = `t${prefixes}:`;
  return new RedisLogStore(server.url, retention, { keyPrefix: lastPrefix });
}

runLogStoreConformance('redis', freshStore, {
  reopen: (retention) => new RedisLogStore(server.url, retention, { keyPrefix: lastPrefix }),
  storedStreams: async (store) => {
    if (!(store instanceof RedisLogStore)) return NaN;
    // Streams with any key left (meta, log, ids, idts share the hash tag): a read must add none.
    const keys = await server.command('KEYS', `{${store.keyPrefix}*`);
    if (!Array.isArray(keys)) return NaN;
    return new Set(keys.map((key) => String(key).slice(0, String(key).lastIndexOf('}:')))).size;
  },
});

function open(url: string, retention?: Partial<RetentionOptions>, options?: RedisLogStoreOptions): RedisLogStore {
  const store = new RedisLogStore(url, retention, options);
  opened.push(store);
  return store;
}

async function waitForPing(store: LogStore, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await store.ping();
      return Date.now() - start;
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('RedisLogStore on one Redis', () => {
  it('ping is a write: it rejects with store_unavailable while Redis refuses writes (maxmemory), and recovers', async () => {
    const store = open(server.url);
    await store.ping();
    await server.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await server.command('CONFIG', 'SET', 'maxmemory', '1');
    try {
      await expectStoreUnavailable(store.ping());
      await expectStoreUnavailable(store.append('s', [input('a')]));
    } finally {
      await server.command('CONFIG', 'SET', 'maxmemory', '0');
    }
    await store.ping();
    expect((await store.append('s', [input('a')]))[0]).toMatchObject({ offset: 1 });
  });

  it('is named redis, and opens from redis:// and rediss:// specs', async () => {
    const store = openStore(server.url);
    opened.push(store);
    expect(store).toBeInstanceOf(RedisLogStore);
    expect(store.engine).toBe('redis');
    await store.append('s', [input('a')]);
    expect(await store.info('s')).toMatchObject({ head: 1 });
    // A TLS URL is accepted too (nothing listens on port 1: it just never gets ready).
    const tls = openStore('rediss://127.0.0.1:1');
    expect(tls).toBeInstanceOf(RedisLogStore);
    await tls.close();
  });

  it('keeps a stream in keys under one hash tag; offsets are the stream entry IDs', async () => {
    const store = open(server.url);
    await store.append('acme/trip:7', inputs('m', 3));
    const keys = (await server.command('KEYS', '*')) as string[];
    expect(keys.sort()).toEqual(
      [
        '{tether:acme/trip:7}:idts',
        '{tether:acme/trip:7}:ids',
        '{tether:acme/trip:7}:log',
        '{tether:acme/trip:7}:meta',
        'tether:streams',
      ].sort(),
    );
    const entries = (await server.command('XRANGE', '{tether:acme/trip:7}:log', '-', '+')) as string[][];
    expect(entries.map((entry) => entry[0])).toEqual(['1-0', '2-0', '3-0']);
    expect(await server.command('HGETALL', '{tether:acme/trip:7}:meta')).toEqual(
      expect.arrayContaining(['head', '3', 'first', '1']),
    );
  });

  it('uses a client handed in, and leaves it open on close', async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    clients.push(client);
    const store = new RedisLogStore(client, {}, { keyPrefix: 'given:' });
    expect((await store.append('s', inputs('m', 2))).map((r) => r.offset)).toEqual([1, 2]);
    await store.close();
    expect(await client.ping()).toBe('PONG');
    expect(await client.exists('{given:s}:log')).toBe(1);
  });

  it('connects a lazy client handed in on first use, however long after the store was made', async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    clients.push(client);
    const store = new RedisLogStore(client, {}, { readyWaitMs: 100 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('reads without a limit (Infinity) and from any position', async () => {
    const store = open(server.url, { maxMessages: 5 });
    await store.append('s', inputs('m', 8));
    expect(offsetsOf((await store.read('s', 0, Infinity)).messages)).toEqual([4, 5, 6, 7, 8]);
    expect(offsetsOf((await store.read('s', -5, 2)).messages)).toEqual([4, 5]);
    expect(offsetsOf((await store.read('s', 6.5, 10)).messages)).toEqual([7, 8]);
    expect((await store.read('s', Infinity, 10)).messages).toEqual([]);
  });

  it('gives concurrent appends from several nodes to one stream one gap-free sequence', async () => {
    const nodes = Array.from({ length: 4 }, () => open(server.url));
    const calls = range(0, 199).map((call) =>
      nodes[call % nodes.length]!.append('room', inputs(`n${call % 4}-c${call}-`, 1 + (call % 3))),
    );
    // The same id from every node at once: exactly one appends it, all get its offset.
    const same = nodes.map((node) => node.append('room', [input('once')]));
    const results = await Promise.all(calls);
    const sameResults = await Promise.all(same);
    const all = results.flat();
    const total = all.length + 1;
    expect([...all.map((r) => r.offset), sameResults[0]![0]!.offset].sort((a, b) => a - b)).toEqual(range(1, total));
    for (const batch of results) {
      const offsets = batch.map((r) => r.offset);
      expect(offsets).toEqual(range(offsets[0]!, offsets[0]! + offsets.length - 1));
    }
    expect(sameResults.flat().filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(sameResults.flat().map((r) => r.offset)).size).toBe(1);
    const epochs = new Set([...all, ...sameResults.flat()].map((r) => r.epoch));
    expect(epochs.size).toBe(1);
    const stored = await readAll(nodes[1]!, 'room');
    expect(offsetsOf(stored)).toEqual(range(1, total));
    const byOffset = new Map(all.map((r) => [r.offset, r.message.id]));
    for (const message of stored) if (message.id !== 'once') expect(message.id).toBe(byOffset.get(message.offset));
  });

  it('trims approximately in Redis while first stays exact', async () => {
    const store = open(server.url, { maxMessages: 10 });
    for (let i = 0; i < 20; i += 1) await store.append('s', inputs(`b${i}-`, 50));
    expect(await store.info('s')).toMatchObject({ head: 1000, first: 991 });
    const length = Number(await server.command('XLEN', '{tether:s}:log'));
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThanOrEqual(110);
    expect(offsetsOf(await readAll(store, 's'))).toEqual(range(991, 1000));
  });

  it('prunes through the registry: many streams, long prefixes in bounded steps, only what is due', async () => {
    const maxAgeMs = 60_000;
    const retention = { maxAgeMs, idempotencyWindowMs: 1000, maxMessages: 5000 };
    const store = open(server.url, retention, { pruneStepBudget: 100 });
    // 300 streams (more than a registry page), 3 old messages each; one long stream of 1500.
    for (let s = 0; s < 300; s += 1) await store.append(`s${s}`, inputs(`s${s}-`, 3, { ts: T0 }));
    await store.append('long', [...inputs('old', 1500, { ts: T0 }), input('fresh', { ts: T0 + 2 * maxAgeMs })]);
    expect(await store.prune(T0 + maxAgeMs - 1)).toBe(0);
    expect(await store.prune(T0 + maxAgeMs)).toBe(300 * 3 + 1500);
    expect(await store.info('s299')).toMatchObject({ head: 3, first: 4 });
    expect(await store.info('long')).toMatchObject({ head: 1501, first: 1501 });
    expect((await readAll(store, 'long')).map((m) => m.id)).toEqual(['fresh']);
    // Keys are forgotten; what remains registered is due later (the fresh message and its key).
    expect(await server.command('HLEN', '{tether:s7}:ids')).toBe(0);
    expect(await server.command('ZRANGE', 'tether:streams', 0, -1, 'WITHSCORES')).toEqual([
      'long',
      String(T0 + 2 * maxAgeMs + 1000),
    ]);
    expect(await store.prune(T0 + maxAgeMs)).toBe(0);
  });

  it('shares pruning between nodes: concurrent prunes remove each message once', async () => {
    const retention = { maxAgeMs: 60_000, maxMessages: 5000 };
    const nodes = range(1, 3).map(() => open(server.url, retention, { pruneStepBudget: 100 }));
    for (let s = 0; s < 40; s += 1) {
      await nodes[s % 3]!.append(`s${s}`, [...inputs(`old${s}-`, 150, { ts: T0 }), input('new', { ts: T0 + 120_000 })]);
    }
    const removed = await Promise.all(nodes.map((node) => node.prune(T0 + 60_000)));
    expect(removed.reduce((a, b) => a + b, 0)).toBe(40 * 150);
    for (let s = 0; s < 40; s += 1) expect(await nodes[0]!.info(`s${s}`)).toMatchObject({ head: 151, first: 151 });
  });

  it('starts a new life when a stream lost its state (keys evicted): new epoch, offsets from 1', async () => {
    const store = open(server.url);
    await store.append('s', inputs('m', 5));
    const { epoch } = await store.info('s');
    await server.command('DEL', '{tether:s}:meta');
    expect(await store.info('s')).toEqual({ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 });
    expect(await readAll(store, 's')).toEqual([]);
    const [first] = await store.append('s', [input('m0')]);
    expect(first).toMatchObject({ offset: 1, duplicate: false });
    expect([epoch, UNWRITTEN_EPOCH]).not.toContain(first?.epoch);
  });

  it('reloads its scripts after Redis forgot them (SCRIPT FLUSH), registry included', async () => {
    const store = open(server.url, { maxAgeMs: 1000 });
    await store.append('s', [input('a', { ts: T0 })]);
    await server.command('SCRIPT', 'FLUSH');
    await server.command('DEL', 'tether:streams');
    expect((await store.append('s', [input('b', { ts: T0 })]))[0]).toMatchObject({ offset: 2 });
    expect(await store.read('s', 0, 10)).toMatchObject({ head: 2 });
    expect(await store.prune(T0 + 1000)).toBe(2);
  });
});

describe('RedisLogStore when Redis fails', () => {
  const own: RedisServer[] = [];
  afterEach(async () => {
    await Promise.all(own.splice(0).map((s) => s.stop()));
  });
  async function privateRedis(appendonly: boolean): Promise<RedisServer> {
    const redis = await startRedis({ appendonly });
    own.push(redis);
    return redis;
  }

  it('rejects promptly with store_unavailable while Redis is down, and recovers by itself', async () => {
    const redis = await privateRedis(true);
    const store = open(redis.url);
    await store.append('s', inputs('m', 3));
    const before = await store.info('s');
    await redis.kill();

    for (const operation of [() => store.append('s', [input('down')]), () => store.ping(), () => store.info('s')]) {
      const start = Date.now();
      await expectStoreUnavailable(operation());
      expect(Date.now() - start).toBeLessThan(1000);
    }
    await redis.restart();
    expect(await waitForPing(store)).toBeLessThan(3000);
    // AOF: the same life continues; the rejected append was never applied.
    expect(await store.info('s')).toEqual(before);
    expect((await store.append('s', [input('down')]))[0]).toMatchObject({ offset: 4, duplicate: false });
  });

  it('loses no acknowledged append when Redis is killed mid-stream (AOF)', async () => {
    const redis = await privateRedis(true);
    const nodes = range(1, 3).map(() => open(redis.url, { maxMessages: 1_000_000 }));
    const acked: AppendResult[] = [];
    let failures = 0;
    const publish = async (node: RedisLogStore, n: number): Promise<void> => {
      for (let i = 0; failures === 0; i += 1) {
        try {
          acked.push(...(await node.append('s', inputs(`n${n}-${i}-`, 2))));
        } catch (err) {
          expect(err).toMatchObject({ code: 'store_unavailable' });
          failures += 1;
        }
      }
    };
    const publishing = Promise.all(nodes.map((node, n) => publish(node, n)));
    // Kill it mid-stream, once some appends are in (on a loaded box, fsync'd appends come slowly).
    await waitUntil(() => (acked.length > 20 ? true : undefined), 10_000, 'appends before the kill');
    await redis.kill();
    await publishing;
    expect(acked.length).toBeGreaterThan(20);
    await redis.restart();
    await waitForPing(nodes[0]!);
    const stored = new Map((await readAll(nodes[0]!, 's')).map((m) => [m.offset, m.id]));
    for (const result of acked) expect(stored.get(result.offset)).toBe(result.message.id);
    const { head, first } = await nodes[0]!.info('s');
    expect(first).toBe(1);
    expect(head).toBeGreaterThanOrEqual(Math.max(...acked.map((r) => r.offset)));
    expect(offsetsOf(await readAll(nodes[0]!, 's'))).toEqual(range(1, head));
  });

  it('without persistence, a Redis restart means a new epoch and offsets from 1 (clients resync)', async () => {
    const redis = await privateRedis(false);
    const store = open(redis.url);
    await store.append('s', inputs('m', 4));
    const before = await store.info('s');
    await redis.kill();
    await redis.restart();
    await waitForPing(store);
    // The log is gone: the stream reads as unwritten until the next append starts a new life.
    expect(await store.info('s')).toEqual({ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 });
    const [first] = await store.append('s', [input('m0')]);
    expect(first).toMatchObject({ offset: 1, duplicate: false });
    expect([before.epoch, UNWRITTEN_EPOCH]).not.toContain(first?.epoch);
  });

  it('with AOF, a Redis restart keeps epochs, heads, messages and idempotency keys', async () => {
    const redis = await privateRedis(true);
    const store = open(redis.url, { maxMessages: 3 });
    await store.append('s', inputs('m', 5, { critical: true }));
    const info = await store.info('s');
    const messages = await readAll(store, 's');
    await redis.kill();
    await redis.restart();
    await waitForPing(store);
    expect(await store.info('s')).toEqual(info);
    expect(await readAll(store, 's')).toStrictEqual(messages);
    expect((await store.append('s', [input('m0'), input('n')])).map((r) => [r.offset, r.duplicate])).toEqual([
      [1, true],
      [6, false],
    ]);
  });
});
