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
  openPage,
  renderedOffsets,
  servePage,
  show,
  waitAttribute,
  waitConnected,
} from './page-fixture.js';

let browser: Browser;
let site: { origin: string; close(): Promise<void> };
let server: TestServer;
let proxy: FaultProxy;
/** Client frames the server received, by event, as `channel` (every connection). */
const received: { event: string; channel: string; sub: string }[] = [];
const nodeClients: TetherClient[] = [];

beforeAll(async () => {
  site = await servePage(await buildPage());
  server = await startServer({
    corsOrigins: [site.origin],
    presence: { channels: [{ pattern: 'room:*' }], batchMs: 20 },
  });
  server.server.io.on('connection', (socket) => {
    const sub = String((socket.data as { ctx?: { sub?: unknown } } | undefined)?.ctx?.sub ?? '');
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

const frames = (event: string, channel: string): number =>
  received.filter((f) => f.event === event && f.channel === channel).length;

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
    const first = await openPage(browser, site.origin, { url: server.url, token });
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
    const second = await openPage(browser, site.origin, { url: server.url, token, context: first.context });
    await waitConnected(second.page);
    await show(second.page, [{ id: 'm', kind: 'messages', channel: 'room:replay' }]);
    await waitRendered(second.page, 'm', 5);
    await second.page.waitForTimeout(300);
    expect(await renderedOffsets(second.page, 'm')).toEqual(range(1, 5));
    await first.context.close();
  });
});
