/**
 * The test page of @tether/react, built with Vite's own `build()` (the React plugin, the
 * development build of React so that StrictMode double-mounts) into a temporary folder, served
 * from a loopback origin, and opened in Debian's Chromium. The page imports @tether/react and
 * @tether/client from their sources.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { expect } from 'vitest';
import type { Harness, PageGlobals, Widget } from './page/harness-types.js';

export type { Harness, Widget };

const packages = fileURLToPath(new URL('../../', import.meta.url));
const source = (pkg: string, file: string): string => join(packages, pkg, 'src', file);

/** Builds the page; returns the folder with `index.html` and its assets. */
export async function buildPage(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'tether-react-page-'));
  await build({
    configFile: false,
    root: fileURLToPath(new URL('./page/', import.meta.url)),
    mode: 'development',
    logLevel: 'warn',
    plugins: [react()],
    define: { 'process.env.NODE_ENV': JSON.stringify('development') },
    resolve: {
      alias: [
        { find: /^@tether\/protocol\/wire$/, replacement: source('protocol', 'wire.ts') },
        { find: /^@tether\/protocol$/, replacement: source('protocol', 'index.ts') },
        { find: /^@tether\/client$/, replacement: source('client', 'index.ts') },
        { find: /^@tether\/react$/, replacement: source('react', 'index.ts') },
      ],
    },
    build: { outDir, emptyOutDir: true, minify: false, sourcemap: false, reportCompressedSize: false },
  });
  return outDir;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves `dir` on 127.0.0.1, port 0. */
export async function servePage(dir: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir)) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PageOptions {
  url: string;
  token: string;
  /** Client options (JSON). */
  options?: Record<string, unknown>;
  strict?: boolean;
  releaseDelayMs?: number;
  /** An existing context (its localStorage, e.g. stored positions); default a new one. */
  context?: BrowserContext;
}

/** Opens the page with a fake clock that runs in real time until the test moves it (`page.clock`). */
export async function openPage(
  browser: Browser,
  origin: string,
  options: PageOptions,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = options.context ?? (await browser.newContext());
  const page = await context.newPage();
  await page.clock.install();
  const query = new URLSearchParams({
    url: options.url,
    token: options.token,
    options: JSON.stringify(options.options ?? {}),
    strict: options.strict ? '1' : '0',
    releaseDelayMs: String(options.releaseDelayMs ?? 1000),
  });
  await page.goto(`${origin}/?${query.toString()}`);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__harness !== undefined, undefined, {
    timeout: 10_000,
  });
  return { context, page };
}

/** Shows `widgets` on the page. */
export async function show(page: Page, widgets: Widget[]): Promise<void> {
  await page.evaluate((list) => (globalThis as unknown as PageGlobals).__harness!.show(list), widgets);
}

/** Calls a widget's action (`typing`, `busy`…) on the page. */
export async function act(page: Page, id: string, action: string): Promise<void> {
  await page.evaluate(([w, a]) => (globalThis as unknown as PageGlobals).__harness!.act(w, a), [id, action] as const);
}

/** How many times a widget's effects ran (2 for one mount under StrictMode). */
export async function mountsOf(page: Page, id: string): Promise<number | undefined> {
  return page.evaluate((w) => (globalThis as unknown as PageGlobals).__harness!.mounts[w], id);
}

/** The offsets a `channel` widget's handler got, in order. */
export async function handledBy(page: Page, id: string): Promise<number[] | undefined> {
  return page.evaluate((w) => (globalThis as unknown as PageGlobals).__harness!.handled[w], id);
}

/** Waits until the client on the page is connected (or `fallback`). */
export async function waitConnected(page: Page): Promise<void> {
  await page.waitForFunction(
    () => ['connected', 'fallback'].includes((globalThis as unknown as PageGlobals).__harness!.client.status),
    undefined,
    { timeout: 10_000 },
  );
}

/** The offsets a `messages` widget renders, one per list item, in DOM order. */
export async function renderedOffsets(page: Page, id: string): Promise<number[]> {
  const texts = await page.locator(`[data-widget="${id}"] li`).allTextContents();
  return texts.map((text) => Number(text.split(':')[0]));
}

export async function attribute(page: Page, id: string, name: string): Promise<string | null> {
  return page.locator(`[data-widget="${id}"]`).getAttribute(name, { timeout: 5000 });
}

/** Waits until a widget's attribute has the value `want`. */
export async function waitAttribute(
  page: Page,
  id: string,
  name: string,
  want: string,
  timeout = 10_000,
): Promise<void> {
  await expect.poll(() => attribute(page, id, name), { timeout, interval: 50 }).toBe(want);
}
