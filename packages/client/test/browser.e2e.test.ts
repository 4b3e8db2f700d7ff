/**
 * The SDK's ESM bundle in headless Chromium (Debian's, never a downloaded one) against a real Tether
 * server behind the fault proxy: live messages, an offline period (`context.setOffline`), a network
 * drop with no offline event (proxy cut + refused reconnects), the HTTP fallback while the Socket.IO
 * path is blocked, and a reload that resumes from localStorage positions. The page records every handled message across
 * reloads (sessionStorage), so duplicates and losses are both visible. Needs `npm run build` (the
 * bundle) and /usr/bin/chromium (`npm test` installs it: scripts/ensure-test-tools.mjs).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, startFaultProxy, startServer, type FaultProxy, type TestServer } from '@tether/testing';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const BUNDLE = here('../dist/tether-client.browser.js');
const SCREENSHOT = here('../../../test-artifacts/browser-e2e.png');

/** What the page (fixtures/browser-page.js) exposes on `window`. */
interface Handled {
  channel: string;
  offset: number;
  data: unknown;
  load: number;
}
interface PageGlobals {
  __state: string;
  __load: number;
  __handled: Handled[];
  __status: string[];
  __errors: string[];
  __storageKeys: () => string[];
}
// Callbacks of `page.evaluate` run in the page and cannot see this module: each reaches `window` as
// `(globalThis as unknown as PageGlobals)` (the test's tsconfig has no DOM types).

const STEP_MS = 10_000;
let browser: Browser;
let server: TestServer;
let proxy: FaultProxy;
let pages: http.Server;
let origin: string;

/** The page and the bundle from one loopback origin (the server allows it by CORS). */
async function startPageServer(): Promise<http.Server> {
  const files: Record<string, { file: string; type: string }> = {
    '/': { file: here('fixtures/browser-page.html'), type: 'text/html' },
    '/page.js': { file: here('fixtures/browser-page.js'), type: 'text/javascript' },
    '/tether-client.browser.js': { file: BUNDLE, type: 'text/javascript' },
    '/tether-client.browser.js.map': { file: `${BUNDLE}.map`, type: 'application/json' },
  };
  const s = http.createServer((req, res) => {
    const entry = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    readFile(entry.file).then(
      (body) => res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'npm run build'`);
  pages = await startPageServer();
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  server = await startServer({ corsOrigins: [origin] });
  proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
  browser = await launchChromium(15_000);
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.close();
  await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
});

/** A fresh context (own localStorage) with the page open on `channel`, through the proxy. */
async function openPage(
  channel: string,
  { delayMs = 0, options = {} }: { delayMs?: number; options?: Record<string, unknown> } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  const token = await server.token({ sub: 'alice', channels: ['room:*'] });
  const query = new URLSearchParams({
    url: proxy.url,
    token,
    channel,
    delay: String(delayMs),
    options: JSON.stringify(options),
  });
  await page.goto(`${origin}/?${query.toString()}`, { timeout: STEP_MS });
  await waitReady(page);
  return { context, page };
}

/** Waits for the page's client to be connected (or fails with what the page reported). */
async function waitReady(page: Page): Promise<void> {
  await page
    .waitForFunction(() => (globalThis as unknown as PageGlobals).__state !== 'loading', undefined, {
      timeout: STEP_MS,
    })
    .catch(() => undefined);
  const { state, errors } = await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return { state: g.__state, errors: g.__errors };
  });
  expect({ state, errors }).toEqual({ state: 'ready', errors: [] });
}

async function handled(page: Page): Promise<Handled[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).__handled);
}

async function waitHandled(page: Page, count: number, timeout = STEP_MS): Promise<Handled[]> {
  await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).__handled.length >= n, count, {
    timeout,
    polling: 50,
  });
  // Give a late duplicate the chance to show before the caller checks for exactly `count`.
  await page.waitForTimeout(300);
  return handled(page);
}

async function publish(channel: string, from: number, count: number, gapMs = 0): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await server.server.publish({ channel, type: 'e2e', data: { n } });
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}

/** Offsets 1..count, each handled once, in order, with the data published at that offset. */
function expectExactlyOnce(list: Handled[], channel: string, count: number): void {
  const expected = Array.from({ length: count }, (_, i) => ({ channel, offset: i + 1, data: { n: i + 1 } }));
  expect(list.map(({ channel: c, offset, data }) => ({ channel: c, offset, data }))).toEqual(expected);
}

describe('browser end-to-end (Chromium, ESM bundle)', () => {
  it('receives live messages', async () => {
    const { context, page } = await openPage('room:live');
    try {
      await publish('room:live', 1, 10);
      expectExactlyOnce(await waitHandled(page, 10), 'room:live', 10);
    } finally {
      await context.close();
    }
  });

  it('offline while messages are published, then online: every message handled exactly once', async () => {
    const { context, page } = await openPage('room:offline');
    try {
      await survivesOutage(
        page,
        'room:offline',
        async () => {
          await context.setOffline(true);
          // Chromium's offline emulation fails new connections (fetch, WebSocket) but leaves an open
          // WebSocket up; engine.io-client closes its own transport on the window's `offline` event.
          // If the connection is still there after a second, it is cut at the proxy: the outage must
          // be real, not just a flag.
          const closedByPage = await waitConnections(0, 1000);
          if (!closedByPage) proxy.cut();
          console.info(
            `browser e2e: offline drop by ${closedByPage ? "the page itself on the 'offline' event" : 'proxy.cut()'}`,
          );
        },
        () => context.setOffline(false),
      );
    } finally {
      await context.close();
    }
  });

  it('a network drop with no offline event (proxy cut, new connections refused): exactly once after', async () => {
    const { context, page } = await openPage('room:cut');
    try {
      await survivesOutage(
        page,
        'room:cut',
        async () => {
          proxy.block({ mode: 'reset' });
          expect(proxy.cut()).toBeGreaterThan(0);
        },
        async () => proxy.unblock(),
      );
    } finally {
      proxy.unblock();
      await context.close();
    }
  });

  it('bonus: Socket.IO path blocked: fallback over HTTP (CORS), back to connected, exactly once', async () => {
    const { context, page } = await openPage('room:fallback', {
      options: { reconnect: { initialDelayMs: 100, maxDelayMs: 400 }, fallback: { afterAttempts: 2, afterMs: 1000 } },
    });
    const lastStatus = (want: string): Promise<unknown> =>
      page.waitForFunction((s) => (globalThis as unknown as PageGlobals).__status.at(-1) === s, want, {
        timeout: STEP_MS,
        polling: 50,
      });
    try {
      await publish('room:fallback', 1, 3);
      await waitHandled(page, 3);
      proxy.blockPath('/socket.io/');
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__status.at(-1) !== 'connected');
      // The first poll answers at once: `fallback` shows before anything is published.
      await lastStatus('fallback');
      await publish('room:fallback', 4, 5);
      await waitHandled(page, 8);
      expect(proxy.stats().pathBlocked).toBeGreaterThan(0);
      proxy.unblockPath('/socket.io/');
      await lastStatus('connected');
      await publish('room:fallback', 9, 3);
      expectExactlyOnce(await waitHandled(page, 11), 'room:fallback', 11);
    } finally {
      proxy.unblockPath();
      await context.close();
    }
  });

  it('reload with localStorage positions: no duplicates, no loss; screenshot', async () => {
    // The page waits 300 ms before connecting, so messages published right after the reload are
    // surely replayed from the stored position, not received live.
    const { context, page } = await openPage('room:reload', { delayMs: 300 });
    try {
      await publish('room:reload', 1, 5);
      await waitHandled(page, 5);
      expect(
        (await page.evaluate(() => (globalThis as unknown as PageGlobals).__storageKeys())).length,
      ).toBeGreaterThan(0);

      // Some messages while the page unloads and loads again, some after it has loaded.
      const reloading = page.reload({ timeout: STEP_MS });
      await publish('room:reload', 6, 3, 30);
      await reloading;
      await publish('room:reload', 9, 3);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__load)).toBe(2);
      await waitReady(page);

      const list = await waitHandled(page, 11);
      expectExactlyOnce(list, 'room:reload', 11);
      const afterReload = list.filter((h) => h.load === 2).map((h) => h.offset);
      expect(afterReload.every((offset) => offset > 5)).toBe(true); // none of the earlier ones again
      expect(afterReload).toEqual(expect.arrayContaining([9, 10, 11]));

      await mkdir(here('../../../test-artifacts'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: STEP_MS });
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);
    } finally {
      await context.close();
    }
  });
});

/**
 * Five messages live; then `drop` breaks the connection and ten are published that must not arrive
 * yet; then `heal`: all fifteen handled once, in order, and the client is connected again.
 */
async function survivesOutage(
  page: Page,
  channel: string,
  drop: () => Promise<void>,
  heal: () => Promise<void>,
): Promise<void> {
  await publish(channel, 1, 5);
  await waitHandled(page, 5);
  expect(proxy.connections).toBeGreaterThan(0);
  await drop();
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__status.at(-1) !== 'connected', undefined, {
    timeout: STEP_MS,
  });
  await publish(channel, 6, 10);
  await page.waitForTimeout(300);
  expect((await handled(page)).length).toBe(5);
  await heal();
  expectExactlyOnce(await waitHandled(page, 15, 20_000), channel, 15);
  const status = await page.evaluate(() => (globalThis as unknown as PageGlobals).__status);
  expect(status.at(-1)).toBe('connected');
  expect(status.filter((s) => s === 'connected').length).toBeGreaterThanOrEqual(2);
}

/** True once the proxy carries `count` connections, false after `timeoutMs`. */
async function waitConnections(count: number, timeoutMs: number): Promise<boolean> {
  return proxy.waitForConnections(count, timeoutMs).then(
    () => true,
    () => false,
  );
}
