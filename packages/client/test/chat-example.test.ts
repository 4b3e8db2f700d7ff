/**
 * The runnable example `examples/chat` (`npm run example:chat`), as app teams would use it: its
 * server started as a child process on port 0, and real Chromium pages (Debian's) driven through
 * the DOM like a user would — two users, alice and bob. Every request the pages make is recorded:
 * none may leave the example's own origin on 127.0.0.1. Needs `npm run build` (the bundle).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, waitUntil } from '@tether/testing';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const RUN = here('../../../examples/chat/run.js');
const BUNDLE = here('../dist/tether-client.browser.js');
const SCREENSHOT = here('../../../test-artifacts/chat-example.png');
const STEP_MS = 15_000;

let example: ChildProcess;
let exampleOut = '';
let origin: string;
let browser: Browser;
const requested: string[] = [];
const pageErrors: string[] = [];

/** Starts `run.js --port 0` and reads the URL it prints. */
async function startExample(): Promise<string> {
  example = spawn(process.execPath, [RUN, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  example.stdout?.on('data', (chunk: Buffer) => (exampleOut += chunk.toString()));
  example.stderr?.on('data', (chunk: Buffer) => (exampleOut += chunk.toString()));
  const url = await waitUntil(
    () => /chat example: (http:\/\/127\.0\.0\.1:\d+)\//.exec(exampleOut)?.[1],
    STEP_MS,
    `the example's URL (output so far: ${exampleOut})`,
  );
  return url;
}

interface ChatPage {
  context: BrowserContext;
  page: Page;
}

/**
 * A fresh browser context (its own storage and network) with the chat open as `user`: through the
 * URL, or (`viaForm`) by typing the name into the page's form.
 */
async function openChat(user: string, { viaForm = false } = {}): Promise<ChatPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  context.on('request', (request) => requested.push(request.url()));
  const page = await context.newPage();
  page.on('websocket', (ws) => requested.push(ws.url()));
  page.on('pageerror', (err) => pageErrors.push(`${user}: ${err.message}`));
  if (viaForm) {
    await page.goto(`${origin}/`, { timeout: STEP_MS });
    await page.fill('#login input[name=user]', user);
    await page.click('#login button');
  } else {
    await page.goto(`${origin}/?user=${user}`, { timeout: STEP_MS });
  }
  await connected(page);
  await expect(page.locator('#me').textContent()).resolves.toBe(`you: ${user}`);
  return { context, page };
}

async function connected(page: Page): Promise<void> {
  await page.locator('#connection.status-connected').waitFor({ timeout: STEP_MS });
}

const messages = (page: Page, text: string): Locator => page.locator('#messages li', { hasText: text });

/** Messages the page's handlers completed (the SDK's `client.metrics().handled`). */
async function handledBy(page: Page): Promise<number> {
  return page.evaluate(
    () => (globalThis as unknown as { chatClient: { metrics(): { handled: number } } }).chatClient.metrics().handled,
  );
}

/** A room's unread badge ('' when it has none). */
async function badgeOf(page: Page, channel: string): Promise<string> {
  const found = page.locator(`#rooms li[data-channel="${channel}"] .badge`);
  return (await found.count()) === 0 ? '' : ((await found.textContent()) ?? '');
}

async function badge(page: Page, channel: string, want: string): Promise<void> {
  await waitUntil(
    async () => ((await badgeOf(page, channel)) === want ? true : undefined),
    STEP_MS,
    `${channel}'s badge '${want}'`,
    50,
  );
}

async function waitText(page: Page, selector: string, want: string, timeoutMs = STEP_MS): Promise<void> {
  await waitUntil(
    async () => (((await page.locator(selector).textContent()) ?? '') === want ? true : undefined),
    timeoutMs,
    `'${want}' in ${selector}`,
    50,
  );
}

/** The open room's member list, and its count: `['alice', 'bob']` with "(2)". */
async function memberNames(page: Page): Promise<string[]> {
  const names = await page.locator('#members li .name').allTextContents();
  const count = await page.locator('#member-count').textContent();
  return count === `(${names.length})` ? names : [...names, `count ${count}`];
}

async function waitMembers(page: Page, want: string[], timeoutMs = STEP_MS): Promise<void> {
  await waitUntil(
    async () => (JSON.stringify(await memberNames(page)) === JSON.stringify(want) ? true : undefined),
    timeoutMs,
    `members ${want.join(', ')}`,
    50,
  );
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill('#send input[name=text]', text);
  await page.click('#send button');
}

/** Waits until exactly `count` messages show `text` (and none is still "sending…"). */
async function shows(page: Page, text: string, count = 1): Promise<void> {
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

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'npm run build'`);
  origin = await startExample();
  browser = await launchChromium(STEP_MS);
});

afterAll(async () => {
  await browser?.close();
  if (example && example.exitCode === null) example.kill('SIGKILL');
});

// Real pages on a loaded box: each step has generous bounds, each test a minute.
describe('examples/chat in Chromium (two users)', { timeout: 60_000 }, () => {
  let alice: ChatPage;
  let bob: ChatPage;

  it('a message sent by one user appears on the other page, once', async () => {
    alice = await openChat('alice');
    bob = await openChat('bob');
    await send(alice.page, 'hello bob');
    await shows(bob.page, 'hello bob');
    await shows(alice.page, 'hello bob');
    await expect(messages(bob.page, 'hello bob').locator('.from').textContent()).resolves.toBe('alice');
    // Only the author may edit or delete.
    expect(await messages(bob.page, 'hello bob').locator('button').count()).toBe(0);
    expect(await messages(alice.page, 'hello bob').locator('button.edit').count()).toBe(1);
  });

  it('offline: the message shows "sending…" and is queued; back online it is delivered once', async () => {
    await alice.context.setOffline(true);
    try {
      await alice.page.locator('#connection:not(.status-connected)').waitFor({ timeout: STEP_MS });
      await send(alice.page, 'written offline');
      const pending = messages(alice.page, 'written offline');
      await expect(pending.locator('.meta').textContent()).resolves.toBe('sending…');
      expect(await alice.page.locator('#queued').textContent()).toBe('1 queued');
      await bob.page.waitForTimeout(500);
      expect(await messages(bob.page, 'written offline').count()).toBe(0);
    } finally {
      await alice.context.setOffline(false);
    }
    await connected(alice.page);
    await shows(bob.page, 'written offline');
    await shows(alice.page, 'written offline');
    expect(await alice.page.locator('#queued').textContent()).toBe('');
    // A late duplicate would show now.
    await bob.page.waitForTimeout(500);
    expect(await messages(bob.page, 'written offline').count()).toBe(1);
  });

  it('edit and delete of an own message update the other page', async () => {
    await messages(alice.page, 'hello bob').locator('button.edit').click();
    await alice.page.fill('#messages input.edit', 'hello bob, edited');
    await alice.page.press('#messages input.edit', 'Enter');
    await shows(bob.page, 'hello bob, edited');
    await expect(messages(bob.page, 'hello bob, edited').locator('.meta').first().textContent()).resolves.toBe(
      'edited',
    );

    await messages(alice.page, 'written offline').locator('button.delete').click();
    await waitUntil(
      async () => ((await messages(bob.page, 'written offline').count()) === 0 ? true : undefined),
      STEP_MS,
      'the deleted message gone on bob’s page',
      50,
    );
    await shows(bob.page, 'message deleted');
    await shows(alice.page, 'message deleted');
  });

  it('back from offline, a user gets only the final state of a message edited meanwhile', async () => {
    const handledBefore = await handledBy(bob.page);
    await bob.context.setOffline(true);
    try {
      await bob.page.locator('#connection:not(.status-connected)').waitFor({ timeout: STEP_MS });
      await send(alice.page, 'first draft');
      await shows(alice.page, 'first draft');
      await messages(alice.page, 'first draft').locator('button.edit').click();
      await alice.page.fill('#messages input.edit', 'final words');
      await alice.page.press('#messages input.edit', 'Enter');
      await shows(alice.page, 'final words');
    } finally {
      await bob.context.setOffline(false);
    }
    await connected(bob.page);
    // The replay skips the original (the edit supersedes it by msgId): the page shows the edit,
    // placed where the original was, and never the draft.
    await shows(bob.page, 'final words');
    expect(await messages(bob.page, 'first draft').count()).toBe(0);
    expect((await handledBy(bob.page)) - handledBefore).toBe(1); // the edit alone
    const order = await bob.page.locator('#messages li .text').allTextContents();
    expect(order.slice(-2)).toEqual(['message deleted', 'final words']);
  });

  it('a page opened later gets the room from history, edits and deletes folded in', async () => {
    const carol = await openChat('carol', { viaForm: true });
    try {
      await shows(carol.page, 'hello bob, edited');
      await shows(carol.page, 'message deleted');
      expect(await messages(carol.page, 'written offline').count()).toBe(0);
      const order = await carol.page.locator('#messages li .text').allTextContents();
      expect(order).toEqual(['hello bob, edited', 'message deleted', 'final words']);
    } finally {
      await carol.context.close();
    }
  });

  it('rooms are separate channels: a message in room:random shows there only', async () => {
    await bob.page.click('#rooms li[data-channel="room:random"]');
    await expect(bob.page.locator('#room-title').textContent()).resolves.toBe('room:random');
    await send(bob.page, 'random thought');
    await shows(bob.page, 'random thought');
    expect(await messages(alice.page, 'random thought').count()).toBe(0); // alice is in room:general
    await badge(alice.page, 'room:random', '1'); // …and gets an unread badge there
    expect(await badgeOf(alice.page, 'room:general')).toBe('');
    await alice.page.click('#rooms li[data-channel="room:random"]');
    await shows(alice.page, 'random thought');
    await badge(alice.page, 'room:random', '');
    await alice.page.click('#rooms li[data-channel="room:general"]');
    await shows(alice.page, 'hello bob, edited');
  });

  it('typing shows on the other page (not on one’s own) and goes away by itself', async () => {
    await bob.page.click('#rooms li[data-channel="room:general"]');
    await bob.page.locator('#send input').pressSequentially('still thinking', { delay: 20 });
    await waitText(alice.page, '#typing', 'bob is typing…');
    expect(await bob.page.locator('#typing').textContent()).toBe('');
    await bob.page.fill('#send input', '');
    // No "stopped" frame exists: the notice expires on alice's side (typingExpiryMs, 5 s).
    await waitText(alice.page, '#typing', '');
  });

  it('read receipts and unread badges: seen by, badges after a reload, read on another device', async () => {
    // Bob is in room:random: alice's message is unread for him, and not seen.
    await bob.page.click('#rooms li[data-channel="room:random"]');
    await send(alice.page, 'did you read this');
    await badge(bob.page, 'room:general', '1');
    await bob.page.waitForTimeout(300);
    expect(await messages(alice.page, 'did you read this').locator('.seen').count()).toBe(0);
    await bob.page.click('#rooms li[data-channel="room:general"]');
    await badge(bob.page, 'room:general', '');
    await waitText(alice.page, '#messages li:has-text("did you read this") .seen', 'seen by bob');

    // Unread counts are the server's: they survive a reload.
    await send(bob.page, 'one');
    await bob.page.click('#rooms li[data-channel="room:random"]');
    await send(bob.page, 'two');
    await send(bob.page, 'three');
    await shows(bob.page, 'three');
    await badge(alice.page, 'room:random', '2');
    await alice.page.reload({ timeout: STEP_MS });
    await connected(alice.page);
    await badge(alice.page, 'room:random', '2');

    // A second device of alice reads room:random: the badge clears on the first one too.
    const alice2 = await openChat('alice');
    try {
      await badge(alice2.page, 'room:random', '2');
      await alice2.page.click('#rooms li[data-channel="room:random"]');
      await badge(alice2.page, 'room:random', '');
      await badge(alice.page, 'room:random', '');
      await waitText(bob.page, '#messages li:has-text("three") .seen', 'seen by alice');
    } finally {
      await alice2.context.close();
    }
  });

  it('presence: the room lists users, not tabs, with their status; busy shows on the other page', async () => {
    await bob.page.click('#rooms li[data-channel="room:general"]');
    // Carol, whose page closed a while ago, has left by now (after the grace period).
    await waitMembers(bob.page, ['alice', 'bob'], 30_000);
    await waitMembers(alice.page, ['alice', 'bob']);
    await waitText(alice.page, '#members li[data-sub="bob"] .status', 'online');
    await waitText(bob.page, '#my-status', 'online');

    await bob.page.check('#busy');
    await waitText(bob.page, '#my-status', 'busy');
    await waitText(alice.page, '#members li[data-sub="bob"] .status', 'busy');
    await bob.page.uncheck('#busy');
    await waitText(alice.page, '#members li[data-sub="bob"] .status', 'online');

    // A second tab of alice changes nothing for the others; dave's only tab makes him a member.
    const alice2 = await openChat('alice');
    const dave = await openChat('dave');
    await waitMembers(bob.page, ['alice', 'bob', 'dave']);
    await waitMembers(alice2.page, ['alice', 'bob', 'dave']);

    // Both close: dave leaves once the grace period (10 s) has passed; alice, whose first tab is
    // still open, never does.
    await Promise.all([alice2.context.close(), dave.context.close()]);
    await bob.page.waitForTimeout(2000);
    expect(await memberNames(bob.page)).toEqual(['alice', 'bob', 'dave']); // within the grace period
    await waitMembers(bob.page, ['alice', 'bob'], 30_000);
    await waitText(bob.page, '#members li[data-sub="alice"] .status', 'online');
  }, 90_000);

  it('no request left 127.0.0.1, no page error; screenshot', async () => {
    await mkdir(here('../../../test-artifacts'), { recursive: true });
    await bob.page.screenshot({ path: SCREENSHOT, timeout: STEP_MS });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);
    expect(requested.length).toBeGreaterThan(0);
    const wsOrigin = origin.replace(/^http/, 'ws');
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith(`${wsOrigin}/`))).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${wsOrigin}/socket.io/`))).toBe(true);
    expect(pageErrors).toEqual([]);
    const errors = await Promise.all([alice, bob].map(({ page }) => page.locator('#errors').textContent()));
    expect(errors).toEqual(['', '']);
  });

  it('the example stops cleanly on SIGINT', async () => {
    await Promise.all([alice.context.close(), bob.context.close()]);
    const exited = new Promise<number | null>((resolve) => example.once('exit', (code) => resolve(code)));
    example.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(exampleOut).toContain('chat example stopped');
  });
});
