/**
 * Positions kept in storage outlive a client instance: a new instance on the same storage (an app
 * restart, a page reload) resumes where the last one stopped, with no duplicates and no loss.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import type { KeyValueStorage } from '@tether/client';
import { Clients, Recorder, fast, range, sleep } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

/** An asynchronous key-value store, like IndexedDB or AsyncStorage, shared by two instances. */
function sharedStorage(): KeyValueStorage & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    load: async (key) => {
      await sleep(1);
      return values.get(key) ?? null;
    },
    save: async (key, value) => {
      await sleep(1);
      if (value === null) values.delete(key);
      else values.set(key, value);
    },
  };
}

describe('persisted positions', () => {
  it('a new instance resumes a channel and the inbox after close(): no duplicates, no loss', async () => {
    const server = await bed.start();
    const storage = sharedStorage();
    const token = await server.token({ sub: 'ana', channels: ['feed:*'] });
    const publish = (channel: string, from: number, to: number) =>
      server.server.publishMany(range(from, to).map((n) => ({ channel, type: 't', data: n })));

    const first = clients.make({ url: server.url, token, storage, ...fast });
    const firstFeed = new Recorder();
    const firstInbox = new Recorder();
    first.subscribe('feed:p', firstFeed.handler, { since: { offset: 0 } });
    first.inbox.setHandler(firstInbox.handler);
    await first.connect();
    await publish('feed:p', 1, 50);
    await publish('user:ana', 1, 20);
    await waitUntil(() => (firstFeed.handled.length === 50 && firstInbox.handled.length === 20 ? true : undefined));
    const deviceId = first.deviceId;
    await first.close();

    // Published while no instance runs.
    await publish('feed:p', 51, 80);
    await publish('user:ana', 21, 30);

    const second = clients.make({ url: server.url, token, storage, ...fast });
    const secondFeed = new Recorder();
    const secondInbox = new Recorder();
    second.subscribe('feed:p', secondFeed.handler); // no `since`: the stored position
    second.inbox.setHandler(secondInbox.handler);
    await second.connect();
    await publish('feed:p', 81, 90);
    await waitUntil(() => (secondFeed.handled.length >= 40 && secondInbox.handled.length >= 10 ? true : undefined));
    await sleep(200);

    expect(secondFeed.offsets()).toEqual(range(51, 90));
    expect(secondInbox.offsets()).toEqual(range(21, 30));
    expect(second.deviceId).toBe(deviceId);
    expect(second.metrics().deduplicated).toBe(0);
  });

  it('positions are saved as messages are handled, not only on close (a crashed instance loses at most the last interval)', async () => {
    const server = await bed.start();
    const storage = sharedStorage();
    const token = await server.token({ sub: 'bo', channels: ['feed:*'] });
    const first = clients.make({ url: server.url, token, storage, ...fast, positionSaveIntervalMs: 20 });
    const firstFeed = new Recorder();
    first.subscribe('feed:q', firstFeed.handler, { since: { offset: 0 } });
    await first.connect();
    await server.server.publishMany(range(1, 30).map((n) => ({ channel: 'feed:q', type: 't', data: n })));
    await waitUntil(() => (firstFeed.handled.length === 30 ? true : undefined));
    await sleep(100); // past the save interval; no close(): as if the process died now

    const saved = [...storage.values].find(([key]) => key.endsWith(':feed:q'));
    expect(saved?.[0]).toMatch(/^tether:pos:http:\/\/127\.0\.0\.1:\d+:default:bo:feed:q$/);
    expect(JSON.parse(saved![1])).toMatchObject({ offset: 30 });

    const second = clients.make({ url: server.url, token, storage, ...fast });
    const secondFeed = new Recorder();
    second.subscribe('feed:q', secondFeed.handler);
    await second.connect();
    await server.server.publish({ channel: 'feed:q', type: 't', data: 31 });
    await waitUntil(() => (secondFeed.handled.length >= 1 ? true : undefined));
    await sleep(100);
    expect(secondFeed.offsets()).toEqual([31]);
  });
});
