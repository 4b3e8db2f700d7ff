/**
 * The dashboard in headless Chromium (Debian's /usr/bin/chromium, never a downloaded one) against a
 * real server: a wrong admin key is refused on the login form; the right one shows the figures,
 * which move while the test publishes; the charts are drawn (uPlot, served by the server); the
 * trace box answers for a user; a screenshot goes to test-artifacts/; and every request the page
 * makes goes to 127.0.0.1 (no CDN, nothing else).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startServer, type TestClient, type TestServer } from '@tether/testing';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../../../test-artifacts/dashboard.png', import.meta.url));
const ADMIN_KEY = 'dashboard-admin-key-0123456789';
const CHANNEL = 'room:1';
const STEP_MS = 15_000;

let browser: Browser;
let srv: TestServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (npm test does: scripts/ensure-test-tools.mjs)`);
  // No redelivery while the test looks: the device that does not ack stays "unacked", not "missed".
  srv = await startServer({ adminKeys: [ADMIN_KEY], statsIntervalMs: 500, ackTimeoutMs: 120_000 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    timeout: STEP_MS,
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await browser?.close();
  await srv?.close();
});

/** The number shown in a figure (`1,234` → 1234; NaN for `–`). */
function figure(page: Page, id: string): Promise<number> {
  return page.evaluate((elementId) => {
    const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } })
      .document;
    return Number((doc.getElementById(elementId)?.textContent ?? '').replace(/[^0-9.]/g, '') || NaN);
  }, id);
}

describe('dashboard in Chromium', () => {
  it('logs in with the admin key, shows figures moving, draws charts, answers the trace, stays on 127.0.0.1', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
    const requests: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    const problems: string[] = [];
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    // The refused key's 401 is the one expected console error.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('401')) problems.push(`console: ${m.text()}`);
    });

    await page.goto(`${srv.url}/dashboard`, { timeout: STEP_MS });
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    await page.locator('#admin-key').waitFor({ state: 'visible', timeout: STEP_MS });
    expect(await page.locator('#board').isHidden()).toBe(true);

    // A wrong key: refused, the form stays.
    await page.fill('#admin-key', 'not-the-admin-key-0123456789');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error').filter({ hasText: 'unknown admin key' }).waitFor({ timeout: STEP_MS });
    expect(await page.locator('#board').isHidden()).toBe(true);

    // The right key: the board and its figures.
    await page.fill('#admin-key', ADMIN_KEY);
    await page.click('#login-form button[type=submit]');
    await page.locator('#board').waitFor({ state: 'visible', timeout: STEP_MS });
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document
          .getElementById('fig-published')
          .textContent.trim() !== '–',
      undefined,
      { timeout: STEP_MS },
    );
    const publishedBefore = await figure(page, 'fig-published');
    expect(publishedBefore).toBe(0);

    // A user with two devices: one acks everything, the other nothing.
    const token = await srv.token({ sub: 'alice', channels: [CHANNEL] });
    for (const deviceId of ['phone', 'laptop']) {
      const client = await connectClient(srv.url, token, { deviceId });
      clients.push(client);
      expect(await client.sub(CHANNEL)).toMatchObject({ offset: 0 });
    }
    for (let i = 0; i < 6; i++) {
      await srv.server.publish({ channel: CHANNEL, type: 'note', data: { i } });
    }
    for (const c of clients) await c.messages.waitForCount(6, { channel: CHANNEL });
    clients[0]!.ack({ [CHANNEL]: 6 });

    // The page's own sampling shows the new figures.
    await page.waitForFunction(
      () => {
        const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } })
          .document;
        const n = (id: string): number => Number(doc.getElementById(id).textContent.replace(/[^0-9.]/g, ''));
        return n('fig-published') >= 6 && n('fig-acked') >= 6 && n('fig-connections') === 2 && n('fig-unacked') === 6;
      },
      undefined,
      { timeout: STEP_MS, polling: 200 },
    );
    expect(await figure(page, 'fig-published')).toBeGreaterThan(publishedBefore);
    await page.locator('#tenants tbody tr').filter({ hasText: 'default' }).waitFor({ timeout: STEP_MS });
    await page.locator('#backlog tbody tr').filter({ hasText: CHANNEL }).waitFor({ timeout: STEP_MS });
    expect(await page.locator('.uplot').count()).toBe(3);

    // The trace box.
    await page.fill('#trace-sub', 'alice');
    await page.fill('#trace-channel', CHANNEL);
    await page.click('#trace-form button[type=submit]');
    await page.locator('#trace tbody tr').nth(1).waitFor({ timeout: STEP_MS });
    expect(await page.locator('#trace-summary').textContent()).toContain('head 6');
    const rows = await page.locator('#trace tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.startsWith('laptop'))).toMatch(/^laptoplocalconnectedyes06/);
    expect(rows.find((r) => r.startsWith('phone'))).toMatch(/^phonelocalconnectedyes60/);

    await mkdir(new URL('../../../../test-artifacts/', import.meta.url), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await context.close();

    expect(problems).toEqual([]);
    expect(requests.length).toBeGreaterThan(5);
    const elsewhere = requests.filter((url) => {
      const parsed = new URL(url);
      return parsed.protocol !== 'data:' && parsed.hostname !== '127.0.0.1';
    });
    expect(elsewhere).toEqual([]);
    // The chart library came from this server.
    expect(requests).toContain(`${srv.url}/dashboard/uplot.js`);
  });
});
