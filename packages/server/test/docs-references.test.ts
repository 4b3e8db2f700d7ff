/**
 * The docs a newcomer reads stay true to the code: every "docs/<file>.md §n" cited in code, tests
 * and docs names a section that exists, nothing cites the design brief (which lives outside the
 * repo), and every option the Defaults table of docs/architecture.md names exists in `defaults`
 * (server, or client for rows saying "client") with the value the table gives where it is a plain
 * number.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaults as serverDefaults } from '@tether/server';
import { defaults as clientDefaults } from '@tether/client';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Source and doc files of the repo (no node_modules, no build output). */
function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) files(path, out);
    else if (/\.(ts|js|mjs|md)$/.test(name)) out.push(path);
  }
  return out;
}

const sources = [...files('packages'), ...files('docs'), ...files('bench'), 'README.md'];

/** `## 6. Defaults` → 6: the numbered top-level sections of a doc. */
function sectionsOf(doc: string): Set<number> {
  return new Set([...read(`docs/${doc}`).matchAll(/^## (\d+)\./gm)].map((m) => Number(m[1])));
}

describe('references into docs/', () => {
  it('nothing cites the design brief, which is not in the repository', () => {
    // Spelt in two parts, so that this file does not cite it either.
    const brief = new RegExp(['DES', 'IGN'].join(''));
    const citing = sources.filter((path) => brief.test(read(path))).map((p) => relative(root, join(root, p)));
    expect(citing).toEqual([]);
  });

  it('every "docs/<file>.md §n" names a section that exists', () => {
    const broken: string[] = [];
    let seen = 0;
    for (const path of sources) {
      for (const m of read(path).matchAll(/docs\/([a-z-]+\.md) §(\d+)/g)) {
        seen++;
        const [, doc, n] = m;
        if (!sectionsOf(doc!).has(Number(n))) broken.push(`${path}: docs/${doc} §${n}`);
      }
    }
    expect(broken).toEqual([]);
    expect(seen).toBeGreaterThan(10);
  });
});

/** Reads `a.b` out of an options object. */
function valueAt(object: unknown, dotted: string): unknown {
  let at: unknown = object;
  for (const key of dotted.split('.')) {
    if (typeof at !== 'object' || at === null || !(key in at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

describe('docs/architecture.md §6 Defaults', () => {
  const table = read('docs/architecture.md')
    .split(/^## 6\. Defaults$/m)[1]!
    .split(/^## /m)[0]!;
  const rows = table
    .split('\n')
    .filter((line) => line.startsWith('|') && !line.startsWith('| ---') && !line.startsWith('| setting'))
    .map((line) => line.split('|').map((cell) => cell.trim()));

  it('every option it names exists in the defaults of its side', () => {
    const missing: string[] = [];
    let named = 0;
    for (const [, , , optionCell] of rows) {
      // `client x; y`: x is the client's, y the server's. `fixed, …`: not an option.
      for (const segment of optionCell!.split(';').map((part) => part.trim())) {
        if (segment.startsWith('fixed') || segment.startsWith('`--')) continue;
        const side = segment.startsWith('client') ? clientDefaults : serverDefaults;
        // `reconnect` (`initialDelayMs`, …): the names in parentheses belong to the one before them.
        const outer = segment.replace(/\(([^)]*)\)/g, '');
        for (const m of outer.matchAll(/`([a-zA-Z.]+)`/g)) {
          named++;
          if (valueAt(side, m[1]!) === undefined) missing.push(m[1]!);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(named).toBeGreaterThan(30);
  });

  it('its figures are the code defaults', () => {
    expect(serverDefaults).toMatchObject({
      ackTimeoutMs: 4000,
      retryAckTimeoutMs: 3000,
      retryDelayMs: 500,
      maxRetries: 2,
      retention: { maxMessages: 1000, maxAgeMs: 3_600_000, idempotencyWindowMs: 300_000 },
      pingIntervalMs: 20_000,
      pingTimeoutMs: 10_000,
      maxPayloadBytes: 64 * 1024,
      maxDataDepth: 32,
      maxQueuedBytes: 4 * 2 ** 20,
      maxBatchBytes: 2 ** 20,
      replayBatchSize: 500,
      maxInvalidFramesPerMinute: 20,
      maxChannelsPerConnection: 100,
      recentPerChannel: 1024,
      pruneIntervalMs: 60_000,
      headCheckIntervalMs: 5000,
      maxPollWaitSeconds: 30,
      store: 'memory',
      limits: {
        eventsPerMinutePerUser: 200,
        eventsPerMinutePerConnection: 200,
        connectionAttemptsPerSecondPerIp: 100,
        connectionAttemptBurstPerIp: 200,
        maxConnectionsPerIp: 1000,
        maxConnections: 20_000,
        httpPublishesPerSecondPerApiKey: 1000,
        httpRequestsPerMinutePerUser: 600,
      },
    });
    expect(clientDefaults).toMatchObject({
      ackIntervalMs: 2000,
      reconnect: { initialDelayMs: 1000, factor: 2, maxDelayMs: 30_000, jitter: 'full' },
      fallback: { pollIntervalMs: 10_000, maxPollIntervalMs: 60_000, pollWaitSeconds: 25 },
      probeIntervalMs: 30_000,
      probeTimeoutMs: 10_000,
      gapTimeoutMs: 1000,
      handlerRetry: { initialDelayMs: 500, maxDelayMs: 30_000 },
      publishQueue: { maxSize: 1000, timeoutMs: 10_000 },
      typingExpiryMs: 5000,
      typingThrottleMs: 2000,
    });
    // The same figures as the table says them.
    for (const figure of ['2000 ms', '4000 ms / 3000 ms', '500 ms, 2', '1000 messages, 1 h', '5 min', '64 KiB']) {
      expect(table).toContain(figure);
    }
  });
});
