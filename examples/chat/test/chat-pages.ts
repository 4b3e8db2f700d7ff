/**
 * Driving the chat example's page in real Chromium like a user would, through the DOM: open it as
 * a user, send, wait for what a page shows (messages, badges, members, text). Every wait is
 * bounded; its failure says what it waited for.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { waitUntil } from '@tether/testing';

/** One step's bound on a loaded box. */
export const STEP_MS = 15_000;

export interface ChatPage {
  context: BrowserContext;
  page: Page;
}

/** Where pages report what they requested and what failed in them. */
export interface PageLog {
  requested: string[];
  pageErrors: string[];
}

/**
 * A fresh browser context (its own storage and network) with the chat open as `user`: through the
 * URL, or (`viaForm`) by typing the name into the page's form. Resolves once connected.
 */
export async function openChat(
  browser: Browser,
  origin: string,
  log: PageLog,
  user: string,
  { viaForm = false } = {},
): Promise<ChatPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  context.on('request', (request) => log.requested.push(request.url()));
  const page = await context.newPage();
  page.on('websocket', (ws) => log.requested.push(ws.url()));
  page.on('pageerror', (err) => log.pageErrors.push(`${user}: ${err.message}`));
  if (viaForm) {
    await page.goto(`${origin}/`, { timeout: STEP_MS });
    await page.fill('#login input[name=user]', user);
    await page.click('#login button');
  } else {
    await page.goto(`${origin}/?user=${user}`, { timeout: STEP_MS });
  }
  await connected(page);
  await waitText(page, '#me', `you: ${user}`);
  return { context, page };
}

/** The connection indicator says `connected`. */
export async function connected(page: Page): Promise<void> {
  await page.locator('#connection.status-connected').waitFor({ timeout: STEP_MS });
}

export const messages = (page: Page, text: string): Locator => page.locator('#messages li', { hasText: text });

/** Messages the page's handlers completed (the SDK's `client.metrics().handled`). */
export async function handledBy(page: Page): Promise<number> {
  return page.evaluate(
    () => (globalThis as unknown as { chatClient: { metrics(): { handled: number } } }).chatClient.metrics().handled,
  );
}

/** A room's unread badge ('' when it has none). */
export async function badgeOf(page: Page, channel: string): Promise<string> {
  const found = page.locator(`#rooms li[data-channel="${channel}"] .badge`);
  return (await found.count()) === 0 ? '' : ((await found.textContent()) ?? '');
}

export async function badge(page: Page, channel: string, want: string): Promise<void> {
  await waitUntil(
    async () => ((await badgeOf(page, channel)) === want ? true : undefined),
    STEP_MS,
    `${channel}'s badge '${want}'`,
    50,
  );
}

/** The text of the first element `selector` finds; undefined when there is none (no auto-wait). */
async function textOf(page: Page, selector: string): Promise<string | undefined> {
  const found = page.locator(selector).first();
  return (await found.count()) === 0 ? undefined : ((await found.textContent()) ?? '');
}

/** Waits until `selector`'s text is `want`; a failure says what it last was. */
export async function waitText(page: Page, selector: string, want: string, timeoutMs = STEP_MS): Promise<void> {
  let last: string | undefined;
  try {
    await waitUntil(
      async () => ((last = await textOf(page, selector)) === want ? true : undefined),
      timeoutMs,
      `'${want}' in ${selector}`,
      50,
    );
  } catch (err) {
    const seen = last === undefined ? 'no such element' : `'${last}'`;
    throw new Error(`${(err as Error).message} (last: ${seen})`, { cause: err });
  }
}

/** The open room's member list, and its count: `['alice', 'bob']` with "(2)". */
export async function memberNames(page: Page): Promise<string[]> {
  const names = await page.locator('#members li .name').allTextContents();
  const count = await page.locator('#member-count').textContent();
  return count === `(${names.length})` ? names : [...names, `count ${count}`];
}

export async function waitMembers(page: Page, want: string[], timeoutMs = STEP_MS): Promise<void> {
  await waitUntil(
    async () => (JSON.stringify(await memberNames(page)) === JSON.stringify(want) ? true : undefined),
    timeoutMs,
    `members ${want.join(', ')}`,
    50,
  );
}

export async function send(page: Page, text: string): Promise<void> {
  await page.fill('#send input[name=text]', text);
  await page.click('#send button');
}

export async function openRoom(page: Page, channel: string): Promise<void> {
  await page.click(`#rooms li[data-channel="${channel}"]`);
  await waitText(page, '#room-title', channel);
}

/** Waits until exactly `count` messages show `text` (and none is still "sending…"). */
export async function shows(page: Page, text: string, count = 1): Promise<void> {
  await waitUntil(
    async () =>
      (await messages(page, text).count()) === count &&
      (await messages(page, text).and(page.locator('.sending')).count()) === 0
        ? true
        : undefined,
    STEP_MS,
    `${count} × '${text}' on the page`,
    50,
  );
}
