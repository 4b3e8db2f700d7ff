/**
 * Publishes made offline queue (bounded) and go out in order once connected; a publish resent
 * after a lost reply keeps its id, so the server stores every message once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogStore } from '@tether/server';
import { SlowStore, TestBed, connectClient, waitUntil, type TestServer } from '@tether/testing';
import { ErrorCode, TetherError, type PublishResult } from '@tether/client';
import { Clients, dropConnections, fast, range, sleep } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

/** The channel's log as a fresh reader replays it from the start. */
async function replayLog(server: TestServer, channel: string, count: number) {
  const reader = bed.adopt(await connectClient(server.url, await server.token({ sub: 'auditor', channels: ['*'] })));
  await reader.sub(channel, { offset: 0 });
  await reader.messages.waitForCount(count, { timeoutMs: 5000 });
  await sleep(100);
  return reader.messages.frames.flatMap((f) => f.messages);
}

describe('publish queue', () => {
  it('publishes made before connecting go out in order once connected', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    const results = range(1, 30).map((n) => client.publish('room:1', 'chat', { n }));
    expect(client.metrics().queued).toBe(30);
    await client.connect();
    const done = await Promise.all(results);
    expect(done.map((r) => r.offset)).toEqual(range(1, 30));
    expect(client.metrics()).toMatchObject({ queued: 0, published: 30 });
    const log = await replayLog(server, 'room:1', 30);
    expect(log.map((m) => (m.data as { n: number }).n)).toEqual(range(1, 30));
    expect(log.map((m) => m.id)).toEqual(done.map((r) => r.id));
  });

  it('drains in order through repeated connection drops, and the server stores each publish once', async () => {
    // Appends that take a moment, so that drops land between a publish being stored and its reply.
    const server = await bed.start({
      store: new SlowStore(new MemoryLogStore(), { appendDelayMs: 3, readDelayMs: 0 }),
    });
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    await client.connect();

    const total = 300;
    const results: Promise<PublishResult>[] = [];
    const publishing = (async () => {
      for (let n = 1; n <= total; n++) {
        results.push(client.publish('room:2', 'chat', { n }, n % 50 === 0 ? { id: `fixed-${n}` } : {}));
        if (n % 10 === 0) await sleep(2);
      }
    })();
    // Cut the connection while publishes (and their replies) are in flight.
    let drops = 0;
    while (drops < 8) {
      await sleep(15 + Math.random() * 20);
      drops += dropConnections(server);
    }
    await publishing;
    const done = await Promise.all(results);

    expect(done.map((r) => r.offset)).toEqual(range(1, total));
    expect(done[49]!.id).toBe('fixed-50');
    const log = await replayLog(server, 'room:2', total);
    expect(log).toHaveLength(total);
    expect(log.map((m) => (m.data as { n: number }).n)).toEqual(range(1, total));
    expect(new Set(log.map((m) => m.id)).size).toBe(total);
    expect(log.map((m) => m.id)).toEqual(done.map((r) => r.id));
    expect(client.metrics().reconnects).toBeGreaterThanOrEqual(8);
    // Some replies were lost with the connection: those publishes were resent and recognized by id.
    expect(server.server.stats().duplicatesIgnored).toBeGreaterThan(0);
  });

  it('a full queue refuses the next publish with queue_full, and the queued ones still go out', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const client = clients.make({ url: server.url, token, ...fast, publishQueue: { maxSize: 5 } });
    const queued = range(1, 5).map((n) => client.publish('room:3', 'chat', { n }));
    const overflow = client.publish('room:3', 'chat', { n: 6 });
    await expect(overflow).rejects.toBeInstanceOf(TetherError);
    await expect(overflow).rejects.toMatchObject({ code: ErrorCode.QueueFull });
    await client.connect();
    expect((await Promise.all(queued)).map((r) => r.offset)).toEqual(range(1, 5));
  });

  it('close() rejects what is still queued with client_closed, and so does any later call', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    const pending = client.publish('room:4', 'chat', {});
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.ClientClosed });
    await expect(client.publish('room:4', 'chat', {})).rejects.toMatchObject({ code: ErrorCode.ClientClosed });
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCode.ClientClosed });
    expect(() => client.subscribe('room:4', () => {})).toThrow(TetherError);
  });

  it('a refused publish rejects with the server code and does not block the ones behind it', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const client = clients.make({ url: server.url, token, ...fast });
    await client.connect();
    const refused = client.publish('other:1', 'chat', {});
    const next = client.publish('room:5', 'chat', {});
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(next).resolves.toMatchObject({ offset: 1 });
    await expect(client.publish('bad/name', 't', {})).rejects.toMatchObject({ code: ErrorCode.InvalidChannel });
  });

  it('a persisted queue is sent by the next instance (same ids)', async () => {
    const server = await bed.start();
    const token = await server.token({ sub: 'u1', publish: ['room:*'] });
    const values = new Map<string, string>();
    const storage = {
      load: (key: string) => values.get(key) ?? null,
      save: (key: string, value: string | null) => void (value === null ? values.delete(key) : values.set(key, value)),
    };
    // Publishes made offline, then the page dies (no close()): the queue is in storage.
    const first = clients.make({ url: server.url, token, storage, ...fast, publishQueue: { persist: true } });
    void first.publish('room:6', 'chat', { n: 1 }, { id: 'p-1' });
    void first.publish('room:6', 'chat', { n: 2 }, { id: 'p-2' });
    const key = `tether:queue:${server.url}:default:u1`;
    await waitUntil(() => (values.has(key) ? true : undefined));
    expect(JSON.parse(values.get(key)!)).toEqual([
      { channel: 'room:6', type: 'chat', data: { n: 1 }, id: 'p-1' },
      { channel: 'room:6', type: 'chat', data: { n: 2 }, id: 'p-2' },
    ]);

    const second = clients.make({ url: server.url, token, storage, ...fast, publishQueue: { persist: true } });
    await second.connect();
    await waitUntil(() => (second.metrics().queued === 0 && second.metrics().published === 2 ? true : undefined));
    const log = await replayLog(server, 'room:6', 2);
    expect(log.map((m) => m.id)).toEqual(['p-1', 'p-2']);
    await waitUntil(() => (values.has(key) ? undefined : true), 1000, 'queue cleared');
  });
});
