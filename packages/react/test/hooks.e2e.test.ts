/**
 * @tether/react in Debian's Chromium against a real Tether server (a Vite-built page, see
 * page-fixture.ts): messages render once across a reconnect and a replay; two components share one
 * presence membership; StrictMode's double mount makes one; `fallback` shows when the Socket.IO
 * path is blocked; typing and unread counts. The page's clock is Playwright's: it runs in real time
 * and the test jumps it over the timeouts (release delay, typing expiry and throttle).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type Subscription } from '@tether/client';
import {
  launchChromium,
  startFaultProxy,
  startServer,
  waitUntil,
  type FaultProxy,
  type TestServer,
} from '@tether/testing';
import {
  act,
  attribute,
  buildPage,
  handledBy,
  mountsOf,
  openPage,
  renderedOffsets,
  servePage,
  show,
  waitAttribute,
  waitConnected,
} from './page-fixture.js';
import type { PageGlobals } from './page/harness-types.js';

let browser: Browser;
let site: { origin: string; close(): Promise<void> };
let server: TestServer;
let proxy: FaultProxy;
/** Client frames the server received, by event, as `channel` (every connection). */
const received: { event: string; channel: string; sub: string }[] = [];
/** Users whose connection closed, with the reason the server saw. */
const disconnected: { sub: string; reason: string }[] = [];
const nodeClients: TetherClient[] = [];

beforeAll(async () => {
  site = await servePage(await buildPage());
  server = await startServer({
    corsOrigins: [site.origin],
    presence: { channels: [{ pattern: 'room:*' }], batchMs: 20 },
  });
  server.server.io.on('connection', (socket) => {
    const sub = String((socket.data as { ctx?: { sub?: unknown } } | undefined)?.ctx?.sub ?? '');
    socket.on('disconnect', (reason) => disconnected.push({ sub, reason }));
    socket.onAny((event: string, frame: unknown) => {
      const channel = (frame as { channel?: unknown } | undefined)?.channel;
      if (typeof channel === 'string') received.push({ event, channel, sub });
    });
  });
  proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
  browser = await launchChromium(15_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodeClients.map((c) => c.close()));
  await browser?.close();
  await proxy?.close();
  await server?.close();
  await site?.close();
});

async function publish(channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await server.server.publish({ channel, type: 'said', data: { n } });
}

/** A page of user `sub` (through the fault proxy when `viaProxy`). */
async function pageOf(
  sub: string,
  options: { viaProxy?: boolean; strict?: boolean; client?: Record<string, unknown> } = {},
): Promise<Page> {
  const token = await server.token({ sub, channels: ['room:*', `user:${sub}`] });
  const url = options.viaProxy ? proxy.url : server.url;
  const { page } = await openPage(browser, site.origin, {
    url,
    token,
    strict: options.strict ?? false,
    options: options.client ?? {},
  });
  await waitConnected(page);
  return page;
}

/** An SDK client in Node (another user or another device), closed after the tests. */
async function nodeClient(sub: string): Promise<TetherClient> {
  const client = new TetherClient({ url: server.url, token: await server.token({ sub, channels: ['room:*'] }) });
  nodeClients.push(client);
  await client.connect();
  return client;
}

/** Joins and leaves another member sees on `channel`. */
function watch(sub: Subscription): { joins: string[]; leaves: string[] } {
  const seen = { joins: [] as string[], leaves: [] as string[] };
  sub.on('join', ({ member }) => seen.joins.push(member.sub));
  sub.on('leave', ({ sub: who }) => seen.leaves.push(who));
  return seen;
}

async function waitRendered(page: Page, id: string, count: number): Promise<number[]> {
  await expect
    .poll(async () => (await renderedOffsets(page, id)).length, { timeout: 10_000 })
    .toBeGreaterThanOrEqual(count);
  return renderedOffsets(page, id);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('useMessages', () => {
  it('renders history then live messages, each once across a forced disconnect and reconnect', async () => {
    await publish('room:reconnect', 1, 3);
    const page = await pageOf('ann', {
      viaProxy: true,
      client: {
        reconnect: { initialDelayMs: 100, maxDelayMs: 300 },
        fallback: { enabled: false },
        serverDownAfterAttempts: 2,
      },
    });
    await show(page, [
      { id: 'm', kind: 'messages', channel: 'room:reconnect' },
      { id: 's', kind: 'status' },
    ]);
    expect(await waitRendered(page, 'm', 3)).toEqual(range(1, 3));
    await publish('room:reconnect', 4, 5);
    expect(await waitRendered(page, 'm', 5)).toEqual(range(1, 5));

    proxy.block({ mode: 'reset' });
    expect(proxy.cut()).toBeGreaterThan(0);
    await waitAttribute(page, 's', 'data-status', 'reconnecting');
    await publish('room:reconnect', 6, 8);
    await waitAttribute(page, 's', 'data-server-down', 'true');
    proxy.unblock();
    await waitAttribute(page, 's', 'data-status', 'connected');
    expect(await attribute(page, 's', 'data-server-down')).toBe('false');
    await publish('room:reconnect', 9, 10);
    await waitRendered(page, 'm', 10);
    // A late duplicate would show within a moment: wait one before counting.
    await page.waitForTimeout(300);
    expect(await renderedOffsets(page, 'm')).toEqual(range(1, 10));
    await page.context().close();
  });

  it('renders once what both history and a replay bring (a page reopened from a stored position)', async () => {
    const token = await server.token({ sub: 'ann', channels: ['room:*', 'user:ann'] });
    const client = { storage: 'localStorage' };
    const first = await openPage(browser, site.origin, { url: server.url, token, options: client });
    await waitConnected(first.page);
    await show(first.page, [{ id: 'm', kind: 'messages', channel: 'room:replay' }]);
    await waitAttribute(first.page, 'm', 'data-loading', 'false');
    await publish('room:replay', 1, 2);
    await waitRendered(first.page, 'm', 2);
    // The position (2) is stored in localStorage; the page goes, 3..5 are published meanwhile.
    await first.page.evaluate(async () => {
      const { client } = (globalThis as unknown as { __harness: { client: TetherClient } }).__harness;
      await client.close();
    });
    await first.page.close();
    await publish('room:replay', 3, 5);
    // Reopened in the same context: the SDK resumes from 2 (a replay of 3..5), and history has 1..5.
    const second = await openPage(browser, site.origin, {
      url: server.url,
      token,
      options: client,
      context: first.context,
    });
    await waitConnected(second.page);
    await show(second.page, [{ id: 'm', kind: 'messages', channel: 'room:replay' }]);
    await waitRendered(second.page, 'm', 5);
    await second.page.waitForTimeout(300);
    expect(await renderedOffsets(second.page, 'm')).toEqual(range(1, 5));
    await first.context.close();
  });
});

/** Frames of `event` on `channel` that user `sub` sent the server. */
const sentBy = (sub: string, event: string, channel: string): number =>
  received.filter((f) => f.sub === sub && f.event === event && f.channel === channel).length;

/** The server's member list of a channel (`GET /v1/presence/channels/…` with the API key). */
async function serverMembers(channel: string): Promise<{ sub: string; devices: number }[]> {
  const response = await fetch(`${server.url}/v1/presence/channels/${encodeURIComponent(channel)}`, {
    headers: { authorization: `Bearer ${server.apiKey}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { members: { sub: string; devices: number }[] }).members;
}

/** A Node member of `channel` that records the joins and leaves it sees. */
async function watcher(
  sub: string,
  channel: string,
): Promise<{ subscription: Subscription; joins: string[]; leaves: string[] }> {
  const client = await nodeClient(sub);
  const subscription = client.subscribe(channel, () => {});
  const seen = { subscription, ...watch(subscription) };
  await waitUntil(
    () => (subscription.members().some((m) => m.sub === sub) ? true : undefined),
    10_000,
    `${sub} in ${channel}`,
  );
  return seen;
}

/** Waits until the watcher sees `sub` with `status`: frames sent before it (a leave) have arrived by then. */
async function waitStatus(subscription: Subscription, sub: string, status: string): Promise<void> {
  await waitUntil(
    () => (subscription.members().find((m) => m.sub === sub)?.status === status ? true : undefined),
    10_000,
    `${sub} ${status}`,
  );
}

describe('usePresence', () => {
  it('two components on one channel are one membership; one unmounting does not leave for the other', async () => {
    const bob = await watcher('bob', 'room:pair');
    const page = await pageOf('cid');
    await show(page, [
      { id: 'p1', kind: 'presence', channel: 'room:pair' },
      { id: 'p2', kind: 'presence', channel: 'room:pair' },
    ]);
    await waitAttribute(page, 'p1', 'data-count', '2');
    await waitAttribute(page, 'p2', 'data-count', '2');
    await show(page, [{ id: 'p2', kind: 'presence', channel: 'room:pair' }]);
    await page.clock.fastForward(5000); // well past the release delay
    await act(page, 'p2', 'busy');
    await waitStatus(bob.subscription, 'cid', 'busy');
    expect({ joins: bob.joins, leaves: bob.leaves }).toEqual({ joins: ['cid'], leaves: [] });
    expect({ sub: sentBy('cid', 'sub', 'room:pair'), unsub: sentBy('cid', 'unsub', 'room:pair') }).toEqual({
      sub: 1,
      unsub: 0,
    });
    expect(await serverMembers('room:pair')).toContainEqual(expect.objectContaining({ sub: 'cid', devices: 1 }));
    await waitAttribute(page, 'p2', 'data-status', 'busy');

    // The last component goes: the membership ends once the release delay has passed, not before.
    await show(page, []);
    expect(sentBy('cid', 'unsub', 'room:pair')).toBe(0);
    await page.clock.fastForward(1500);
    await waitUntil(() => (bob.leaves.includes('cid') ? true : undefined), 10_000, 'cid left');
    expect(sentBy('cid', 'unsub', 'room:pair')).toBe(1);
    expect((await serverMembers('room:pair')).map((m) => m.sub)).toEqual(['bob']);
    await page.context().close();
  });

  it("StrictMode's double mount makes one membership: one sub, no unsub, one join, no leave", async () => {
    const bob = await watcher('bob', 'room:strict');
    const page = await pageOf('dan', { strict: true });
    await show(page, [{ id: 'p', kind: 'presence', channel: 'room:strict' }]);
    await waitAttribute(page, 'p', 'data-count', '2');
    // StrictMode did mount the component twice (its effects ran twice).
    expect(await mountsOf(page, 'p')).toBe(2);
    await page.clock.fastForward(5000);
    await act(page, 'p', 'busy');
    await waitStatus(bob.subscription, 'dan', 'busy');
    expect({ joins: bob.joins, leaves: bob.leaves }).toEqual({ joins: ['dan'], leaves: [] });
    expect({ sub: sentBy('dan', 'sub', 'room:strict'), unsub: sentBy('dan', 'unsub', 'room:strict') }).toEqual({
      sub: 1,
      unsub: 0,
    });
    expect(await serverMembers('room:strict')).toContainEqual(expect.objectContaining({ sub: 'dan', devices: 1 }));
    await page.context().close();
  });
});

describe('useConnectionStatus', () => {
  it('shows the quality, then fallback while the Socket.IO path is blocked (messages still come, by HTTP), then connected', async () => {
    const page = await pageOf('eve', {
      viaProxy: true,
      client: { reconnect: { initialDelayMs: 100, maxDelayMs: 300 }, fallback: { afterAttempts: 2, afterMs: 1000 } },
    });
    await show(page, [
      { id: 's', kind: 'status' },
      { id: 'm', kind: 'messages', channel: 'room:fallback' },
    ]);
    await waitAttribute(page, 's', 'data-status', 'connected');
    await waitAttribute(page, 'm', 'data-loading', 'false');
    // The SDK probes on connecting (loopback: excellent, or good on a loaded box).
    await page.clock.fastForward(5000); // the hook reads the quality again every 5 s
    await expect.poll(() => attribute(page, 's', 'data-quality'), { timeout: 5000 }).toMatch(/^(excellent|good)$/);
    proxy.blockPath('/socket.io/');
    try {
      await waitAttribute(page, 's', 'data-status', 'fallback');
      await publish('room:fallback', 1, 2);
      expect(await waitRendered(page, 'm', 2)).toEqual([1, 2]);
    } finally {
      proxy.unblockPath('/socket.io/');
    }
    await waitAttribute(page, 's', 'data-status', 'connected');
    expect(await attribute(page, 's', 'data-seen')).toBe('connected,reconnecting,fallback,connected');
    await page.context().close();
  });
});

describe('useTyping', () => {
  it('shows who is typing until the notice expires; typing() sends at most one frame per throttle window', async () => {
    const bob = await watcher('bob', 'room:typing');
    const page = await pageOf('fay');
    await show(page, [{ id: 't', kind: 'typing', channel: 'room:typing' }]);
    await waitUntil(
      () => (bob.subscription.members().some((m) => m.sub === 'fay') ? true : undefined),
      10_000,
      'fay in',
    );
    bob.subscription.typing();
    await waitAttribute(page, 't', 'data-typists', 'bob');
    await page.clock.fastForward(5100); // the SDK's typingExpiryMs (5 s)
    await waitAttribute(page, 't', 'data-typists', '');

    const heard: string[] = [];
    bob.subscription.on('typing', ({ sub }) => heard.push(sub));
    for (let i = 0; i < 3; i++) await act(page, 't', 'typing');
    await waitUntil(() => (heard.length > 0 ? true : undefined), 10_000, 'bob heard fay');
    await page.clock.fastForward(2100); // the SDK's typingThrottleMs (2 s)
    await act(page, 't', 'typing');
    await waitUntil(() => (sentBy('fay', 'typing', 'room:typing') === 2 ? true : undefined), 10_000, 'second frame');
    expect(sentBy('fay', 'typing', 'room:typing')).toBe(2);
    await page.context().close();
  });
});

describe('useUnread and useChannel', () => {
  it('counts from the server, kept current by handled messages and by a read on another device', async () => {
    await publish('room:unread', 1, 3);
    const page = await pageOf('gus');
    await show(page, [
      { id: 'u', kind: 'unread', channels: ['room:unread'] },
      { id: 'c', kind: 'channel', channel: 'room:unread' },
    ]);
    await waitAttribute(page, 'u', 'data-total', '3');
    await waitAttribute(page, 'c', 'data-state', 'subscribed');
    await publish('room:unread', 4, 4);
    await waitAttribute(page, 'u', 'data-total', '4');
    expect(await handledBy(page, 'c')).toEqual([4]);
    const phone = await nodeClient('gus');
    await phone.markRead('room:unread', 4);
    await waitAttribute(page, 'u', 'data-total', '0');
    expect(JSON.parse((await attribute(page, 'u', 'data-counts')) ?? '{}')).toEqual({
      'room:unread': { head: 4, read: 4, unread: 0 },
    });
    await page.context().close();
  });
});

describe('useReadReceipts', () => {
  it("shows who read how far, and marks the user's own read position (the others hear it)", async () => {
    const bob = await watcher('bob', 'room:receipts');
    const heard: { sub: string; offset: number }[] = [];
    bob.subscription.on('read', ({ sub, offset }) => heard.push({ sub, offset }));
    const page = await pageOf('ivy');
    await show(page, [{ id: 'r', kind: 'receipts', channel: 'room:receipts' }]);
    await waitUntil(
      () => (bob.subscription.members().some((m) => m.sub === 'ivy') ? true : undefined),
      10_000,
      'ivy in',
    );
    await publish('room:receipts', 1, 2);
    await waitUntil(() => (bob.subscription.position?.offset === 2 ? true : undefined), 10_000, 'bob handled 2');
    await bob.subscription.markRead(2);
    await waitAttribute(page, 'r', 'data-readers', JSON.stringify({ bob: 2 }));
    // ivy's page handled 1..2 on the shared subscription: markRead() marks up to 2.
    await act(page, 'r', 'read');
    await waitUntil(() => heard.find((h) => h.sub === 'ivy'), 10_000, 'bob heard ivy read');
    expect(heard.filter((h) => h.sub === 'ivy')).toEqual([{ sub: 'ivy', offset: 2 }]);
    // The reading device gets no notice of its own read (its other devices do).
    expect(await attribute(page, 'r', 'data-readers')).toBe(JSON.stringify({ bob: 2 }));
    await page.context().close();
  });
});

describe('TetherProvider', () => {
  it('closes the client it made from options once it has been unmounted for the release delay', async () => {
    const page = await pageOf('hal');
    await show(page, [{ id: 'p', kind: 'presence', channel: 'room:close' }]);
    await waitAttribute(page, 'p', 'data-state', 'subscribed');
    await page.evaluate(() => (globalThis as unknown as PageGlobals).__harness!.unmount());
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__harness!.client.status)).toBe(
      'connected',
    );
    await page.clock.fastForward(1500);
    await waitUntil(() => disconnected.find((d) => d.sub === 'hal'), 10_000, 'hal disconnected');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__harness!.client.status)).toBe(
      'disconnected',
    );
    expect(disconnected.filter((d) => d.sub === 'hal')).toEqual([
      { sub: 'hal', reason: 'client namespace disconnect' },
    ]);
    await page.context().close();
  });
});
