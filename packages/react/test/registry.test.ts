/**
 * The registry under the hooks, without React, on a real client against a real server: a channel's
 * users share one entry; a failing listener gets its message again while the others do not; the
 * message store keeps the newest `limit`, history then live, and starts again on a resync; a refused
 * channel is an error the hooks can render.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SubscriptionState, TetherClient, type Message } from '@tether/client';
import { startFaultProxy, startServer, waitUntil, type TestServer } from '@tether/testing';
import { ChannelRegistry } from '../src/registry.js';

let server: TestServer;
const clients: TetherClient[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
});

async function connected(sub: string, channels = ['room:*']): Promise<TetherClient> {
  const client = new TetherClient({
    url: server.url,
    token: await server.token({ sub, channels }),
    handlerRetry: { initialDelayMs: 20, maxDelayMs: 20 },
  });
  clients.push(client);
  await client.connect();
  return client;
}

async function publish(channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await server.server.publish({ channel, type: 'said', data: { n } });
}

const offsets = (messages: readonly Message[]): number[] => messages.map((m) => m.offset);

describe('ChannelRegistry', () => {
  it('gives every user of a channel the same entry, and one coming back before the delay keeps it', async () => {
    const client = await connected('ann');
    const registry = ChannelRegistry.of(client);
    expect(ChannelRegistry.of(client)).toBe(registry);
    const first = registry.acquire('room:shared');
    const second = registry.acquire('room:shared');
    expect(second).toBe(first);
    registry.release(first);
    registry.release(second);
    // StrictMode's remount: back before the release delay.
    const again = registry.acquire('room:shared');
    expect(again).toBe(first);
    expect(again.subscription?.state).not.toBe(SubscriptionState.Unsubscribed);
    expect(registry.channels()).toEqual(['room:shared']);
    registry.release(again);
  });

  it('hands a message again only to the listener that failed on it', async () => {
    const client = await connected('bob');
    const registry = ChannelRegistry.of(client);
    const entry = registry.acquire('room:retry');
    await waitUntil(
      () => (entry.snapshot.state === SubscriptionState.Subscribed ? true : undefined),
      5000,
      'subscribed',
    );
    const steady: number[] = [];
    const flaky: number[] = [];
    entry.listen((m) => void steady.push(m.offset));
    entry.listen((m) => {
      flaky.push(m.offset);
      if (flaky.length === 1) throw new Error('first try fails');
    });
    await publish('room:retry', 1, 2);
    await waitUntil(() => (flaky.length === 3 ? true : undefined), 5000, 'retried');
    expect({ steady, flaky }).toEqual({ steady: [1, 2], flaky: [1, 1, 2] });
    registry.release(entry);
  });

  it('keeps the newest `limit` messages: history first, then live', async () => {
    await publish('room:limit', 1, 5);
    const client = await connected('cid');
    const entry = ChannelRegistry.of(client).acquire('room:limit');
    const store = entry.messages(3)!;
    await waitUntil(() => (store.snapshot.loading ? undefined : true), 5000, 'history read');
    expect(offsets(store.snapshot.messages)).toEqual([3, 4, 5]);
    await publish('room:limit', 6, 7);
    await waitUntil(() => (store.snapshot.messages.at(-1)?.offset === 7 ? true : undefined), 5000, 'live');
    expect(offsets(store.snapshot.messages)).toEqual([5, 6, 7]);
    // A larger limit asked later reads history again; what is held is not doubled.
    entry.messages(6);
    await waitUntil(() => (store.snapshot.messages.length === 6 ? true : undefined), 5000, 'more history');
    expect(offsets(store.snapshot.messages)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('a channel the token does not allow, or an invalid name, is an error to render, not a throw', async () => {
    const client = await connected('dan', ['room:*']);
    const registry = ChannelRegistry.of(client);
    const forbidden = registry.acquire('secret:1');
    await waitUntil(() => forbidden.snapshot.error, 5000, 'refused');
    expect({ state: forbidden.snapshot.state, code: forbidden.snapshot.error?.code }).toEqual({
      state: SubscriptionState.Unsubscribed,
      code: ErrorCode.Forbidden,
    });
    const invalid = registry.acquire('no spaces allowed');
    expect(invalid.snapshot.error?.code).toBe(ErrorCode.InvalidChannel);
    expect(invalid.subscription).toBeUndefined();
  });

  it('after a resync (the position fell out of retention) the list starts again from history', async () => {
    const small = await startServer({ retention: { maxMessages: 3 } });
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: small.port } });
    const client = new TetherClient({
      url: proxy.url,
      token: await small.token({ sub: 'eve', channels: ['room:*'] }),
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
      fallback: { enabled: false },
    });
    try {
      await client.connect();
      const store = ChannelRegistry.of(client).acquire('room:resync').messages(10)!;
      await waitUntil(() => (store.snapshot.loading ? undefined : true), 5000, 'history read');
      for (let n = 1; n <= 2; n++) await small.server.publish({ channel: 'room:resync', type: 'said', data: { n } });
      await waitUntil(() => (store.snapshot.messages.length === 2 ? true : undefined), 5000, 'live');
      proxy.block();
      proxy.cut();
      for (let n = 3; n <= 8; n++) await small.server.publish({ channel: 'room:resync', type: 'said', data: { n } });
      proxy.unblock();
      await waitUntil(() => (offsets(store.snapshot.messages)[0] === 6 ? true : undefined), 10_000, 'history again');
      expect(offsets(store.snapshot.messages)).toEqual([6, 7, 8]);
      expect(client.metrics().resyncs).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
      await small.close();
    }
  });
});
