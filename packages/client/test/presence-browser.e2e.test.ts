/**
 * Presence from a real page: the ESM bundle in headless Chromium (Debian's) derives `idle` from the
 * lack of page events and `online` again from a key press, and another member (a Node socket) sees
 * both as `update`. Real time, with generous waits. Needs `npm run build` and /usr/bin/chromium.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presenceMemberOf, type PresenceChannelFrame } from '@tether/protocol';
import {
  connectClient,
  launchChromium,
  startServer,
  waitUntil,
  type TestClient,
  type TestServer,
} from '@tether/testing';

const BUNDLE = fileURLToPath(new URL('../dist/tether-client.browser.js', import.meta.url));

let browser: Browser;
/** Serves the page and the bundle on loopback (Chromium refuses a public origin reaching loopback). */
let pages: http.Server;
let origin = '';
let pageHtml = '';
let server: TestServer;
let watcher: TestClient;
const frames: PresenceChannelFrame[] = [];

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'npm run build'`);
  const bundle = await readFile(BUNDLE, 'utf8');
  pages = http.createServer((req, res) => {
    if (req.url === '/tether-client.browser.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(pageHtml);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  server = await startServer({
    corsOrigins: [origin],
    presence: { channels: [{ pattern: 'room:*' }], batchMs: 20 },
  });
  watcher = await connectClient(server.url, await server.token({ sub: 'watcher', channels: ['room:*'] }));
  watcher.socket.on('presence', (f) => frames.push(f));
  await watcher.sub('room:page');
  browser = await launchChromium(15_000);
});

afterAll(async () => {
  await browser?.close();
  watcher?.close();
  await server?.close();
  await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
});

const statusOfAnn = (): string | undefined => {
  let status: string | undefined;
  for (const f of frames) {
    for (const m of [...(f.members ?? []), ...(f.join ?? []), ...(f.update ?? [])].map(presenceMemberOf))
      if (m.sub === 'ann') status = m.status;
  }
  return status;
};

describe('presence in a browser page', () => {
  it('idle without page events, online again on a key press; the other member sees both', async () => {
    const token = await server.token({ sub: 'ann', channels: ['room:*'] });
    const page = await (await browser.newContext()).newPage();
    const script = `
      import { TetherClient } from '/tether-client.browser.js';
      const client = new TetherClient({ url: ${JSON.stringify(server.url)}, token: ${JSON.stringify(token)},
        presence: { idleAfterMs: 1500, awayAfterMs: 600000, activityThrottleMs: 100 } });
      window.__statuses = [];
      client.presence.on('status', ({ status }) => window.__statuses.push(status));
      client.subscribe('room:page', () => {});
      await client.connect();
      window.__ready = true;`;
    pageHtml = `<!doctype html><html><body><script type="module">${script}</script></body></html>`;
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as unknown as { __ready?: boolean }).__ready === true, undefined, {
      timeout: 15_000,
    });
    // Joined (already idle, on a slow box, is fine too).
    await waitUntil(() => statusOfAnn(), 10_000, 'ann joined');
    await waitUntil(() => (statusOfAnn() === 'idle' ? true : undefined), 15_000, 'ann idle');
    await page.keyboard.press('a');
    await waitUntil(() => (statusOfAnn() === 'online' ? true : undefined), 10_000, 'ann online again');
    const statuses = await page.evaluate(() => (globalThis as unknown as { __statuses: string[] }).__statuses);
    expect(statuses).toEqual(['idle', 'online']);
  });
});
