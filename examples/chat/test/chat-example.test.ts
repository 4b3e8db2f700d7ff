/**
 * The runnable example `examples/chat` (`npm run example:chat`), as app teams would use it: its own
 * command (`run.js --port 0`: the Vite build of the React page, then the server) as a child process,
 * and real Chromium pages (Debian's) driven through the DOM like a user would — two users, alice
 * and bob. Every request the pages make is recorded: none may leave the example's own origin on
 * 127.0.0.1. Needs `npm run build` (the page imports the built packages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, waitUntil } from '@tether/testing';
import {
  STEP_MS,
  badge,
  badgeOf,
  connected,
  handledBy,
  memberNames,
  messages,
  openChat,
  openRoom,
  send,
  shows,
  waitMembers,
  waitText,
  type ChatPage,
  type PageLog,
} from './chat-pages.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const RUN = here('../run.js');
/** The example runs the built packages (its server) and the page imports them (Vite bundles their `dist/`). */
const BUILT = ['server', 'client', 'react'].map((pkg) => here(`../../../packages/${pkg}/dist/index.js`));
const SCREENSHOT = here('../../../test-artifacts/chat-example.png');
/** The Vite build runs first: on a loaded box it takes a while. */
const START_MS = 90_000;

let example: ChildProcess;
let exampleOut = '';
let origin: string;
let browser: Browser;
const log: PageLog = { requested: [], pageErrors: [] };
const open = (user: string, options?: { viaForm?: boolean }): Promise<ChatPage> =>
  openChat(browser, origin, log, user, options);

/** Starts `run.js --port 0` and reads the URL it prints once the page is built and the server up. */
async function startExample(): Promise<string> {
  example = spawn(process.execPath, [RUN, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  example.stdout?.on('data', (chunk: Buffer) => (exampleOut += chunk.toString()));
  example.stderr?.on('data', (chunk: Buffer) => (exampleOut += chunk.toString()));
  return waitUntil(
    () => {
      if (example.exitCode !== null) throw new Error(`the example exited (${example.exitCode}): ${exampleOut}`);
      return /chat example: (http:\/\/127\.0\.0\.1:\d+)\//.exec(exampleOut)?.[1];
    },
    START_MS,
    `the example's URL (output so far: ${exampleOut})`,
    50,
  );
}

beforeAll(async () => {
  const missing = BUILT.filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`${missing.join(', ')} missing: run 'npm run build'`);
  origin = await startExample();
  browser = await launchChromium(STEP_MS);
}, START_MS + STEP_MS);

afterAll(async () => {
  await browser?.close();
  if (example && example.exitCode === null) example.kill('SIGKILL');
});

// Real pages on a loaded box: each step has generous bounds, each test a minute.
describe('examples/chat (React + Vite) in Chromium, two users', { timeout: 60_000 }, () => {
  let alice: ChatPage;
  let bob: ChatPage;

  // A failed step says what each page showed then (the steps build on each other).
  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail') return;
    for (const [name, chat] of Object.entries({ alice, bob })) {
      if (!chat || chat.page.isClosed()) continue;
      const shown = await chat.page
        .locator('#app, #errors')
        .allInnerTexts()
        .catch((err: unknown) => [String(err)]);
      console.error(`${name}'s page after '${task.name}':\n${shown.join('\n')}`);
    }
  });

  it('serves the Vite build: the page, its hashed assets, the token endpoint; nothing else', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const asset = await fetch(`${origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript');
    expect(await asset.text()).toContain('/api/token?user=');
    expect((await fetch(`${origin}/assets/..%2f..%2fserver.js`)).status).not.toBe(200);
    expect((await fetch(`${origin}/src/main.tsx`)).status).not.toBe(200);
    expect((await fetch(`${origin}/api/token?user=a%20b`)).status).toBe(400);
    expect((await fetch(`${origin}/api/token?user=alice`)).status).toBe(200);
  });

  it('a message sent by one user appears on the other page, once', async () => {
    alice = await open('alice');
    bob = await open('bob');
    await send(alice.page, 'hello bob');
    await shows(bob.page, 'hello bob');
    await shows(alice.page, 'hello bob');
    await expect(messages(bob.page, 'hello bob').locator('.from').textContent()).resolves.toBe('alice');
    // Only the author may edit or delete.
    expect(await messages(bob.page, 'hello bob').locator('button').count()).toBe(0);
    expect(await messages(alice.page, 'hello bob').locator('button.edit').count()).toBe(1);
  });

  it('offline: the indicator changes, the message shows "sending…" and is queued; back online it is delivered once', async () => {
    await alice.context.setOffline(true);
    try {
      const indicator = alice.page.locator('#connection:not(.status-connected)');
      await indicator.waitFor({ timeout: STEP_MS });
      // Class and text read at once (the status may move on from reconnecting to fallback).
      const shown = await indicator.evaluate((node: { className: string; textContent: string | null }) => ({
        status: node.className,
        text: node.textContent ?? '',
      }));
      expect(shown.status).toMatch(/^status-(reconnecting|fallback)$/);
      expect(shown.text.startsWith(shown.status.slice('status-'.length))).toBe(true);
      await send(alice.page, 'written offline');
      const pending = messages(alice.page, 'written offline');
      await expect(pending.locator('.meta').textContent()).resolves.toBe('sending…');
      await waitText(alice.page, '#queued', '1 queued');
      await bob.page.waitForTimeout(500);
      expect(await messages(bob.page, 'written offline').count()).toBe(0);
    } finally {
      await alice.context.setOffline(false);
    }
    await connected(alice.page);
    await shows(bob.page, 'written offline');
    await shows(alice.page, 'written offline');
    await waitText(alice.page, '#queued', '');
    // A late duplicate would show now.
    await bob.page.waitForTimeout(500);
    expect(await messages(bob.page, 'written offline').count()).toBe(1);
    expect(await messages(alice.page, 'written offline').count()).toBe(1);
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
    const carol = await open('carol', { viaForm: true });
    try {
      await shows(carol.page, 'hello bob, edited');
      await shows(carol.page, 'message deleted');
      expect(await messages(carol.page, 'written offline').count()).toBe(0);
      expect(await messages(carol.page, 'first draft').count()).toBe(0);
      const order = await carol.page.locator('#messages li .text').allTextContents();
      expect(order).toEqual(['hello bob, edited', 'message deleted', 'final words']);
    } finally {
      await carol.context.close();
    }
  });

  it('rooms are separate channels: a message in room:random shows there only, with a badge elsewhere', async () => {
    await openRoom(bob.page, 'room:random');
    await send(bob.page, 'random thought');
    await shows(bob.page, 'random thought');
    expect(await messages(alice.page, 'random thought').count()).toBe(0); // alice is in room:general
    await badge(alice.page, 'room:random', '1'); // …and gets an unread badge there
    expect(await badgeOf(alice.page, 'room:general')).toBe('');
    await openRoom(alice.page, 'room:random');
    await shows(alice.page, 'random thought');
    await badge(alice.page, 'room:random', '');
    await openRoom(alice.page, 'room:general');
    await shows(alice.page, 'hello bob, edited');
  });

  it('typing shows on the other page (not on one’s own) and goes away by itself', async () => {
    await openRoom(bob.page, 'room:general');
    // A notice of alice's own typing in an earlier step may still be up (it expires after 5 s).
    await waitText(bob.page, '#typing', '');
    await bob.page.locator('#send input').pressSequentially('still thinking', { delay: 20 });
    await waitText(alice.page, '#typing', 'bob is typing…');
    expect(await bob.page.locator('#typing').textContent()).not.toContain('bob');
    await bob.page.fill('#send input', '');
    // No "stopped" frame exists: the notice expires on alice's side (typingExpiryMs, 5 s).
    await waitText(alice.page, '#typing', '');
  });

  it('read receipts and unread badges: seen by, badges after a reload, read on the user’s second tab', async () => {
    // Bob is in room:random: alice's message is unread for him, and not seen.
    await openRoom(bob.page, 'room:random');
    await send(alice.page, 'did you read this');
    await badge(bob.page, 'room:general', '1');
    await bob.page.waitForTimeout(300);
    expect(await messages(alice.page, 'did you read this').locator('.seen').count()).toBe(0);
    await openRoom(bob.page, 'room:general');
    await badge(bob.page, 'room:general', '');
    await waitText(alice.page, '#messages li:has-text("did you read this") .seen', 'seen by bob');

    // Unread counts are the server's: they survive a reload.
    await send(bob.page, 'one');
    await openRoom(bob.page, 'room:random');
    await send(bob.page, 'two');
    await send(bob.page, 'three');
    await shows(bob.page, 'three');
    await badge(alice.page, 'room:random', '2');
    await alice.page.reload({ timeout: STEP_MS });
    await connected(alice.page);
    await badge(alice.page, 'room:random', '2');

    // A second tab of alice reads room:random: the badge clears on the first one too.
    const alice2 = await open('alice');
    try {
      await badge(alice2.page, 'room:random', '2');
      await openRoom(alice2.page, 'room:random');
      await badge(alice2.page, 'room:random', '');
      await badge(alice.page, 'room:random', '');
      await waitText(bob.page, '#messages li:has-text("three") .seen', 'seen by alice');
      // Alice's first tab heard her second tab's read too: "seen by" is about the others only.
      await openRoom(alice.page, 'room:random');
      await shows(alice.page, 'three');
      expect(await alice.page.locator('#messages .seen', { hasText: 'alice' }).count()).toBe(0);
    } finally {
      await alice2.context.close();
    }
  });

  it('presence: the room lists users, not tabs, with their status; busy shows on the other page', async () => {
    await openRoom(bob.page, 'room:general');
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
    await waitText(bob.page, '#my-status', 'online');

    // A second tab of alice changes nothing for the others; dave's only tab makes him a member.
    const alice2 = await open('alice');
    const dave = await open('dave');
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
    expect(log.requested.length).toBeGreaterThan(0);
    const wsOrigin = origin.replace(/^http/, 'ws');
    expect(log.requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith(`${wsOrigin}/`))).toEqual([]);
    expect(log.requested.some((url) => url.startsWith(`${wsOrigin}/socket.io/`))).toBe(true);
    expect(log.pageErrors).toEqual([]);
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
