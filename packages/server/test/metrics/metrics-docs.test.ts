/**
 * docs/operations.md §8 lists every metric a server registers, with its type and labels, and
 * nothing it does not (as the errors catalogue test does for docs/errors.md).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '@tether/testing';
import { ADMIN_KEY, scrape } from './helpers.js';

const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');
const section = doc.split(/^## 8\. Monitoring$/m)[1]!.split(/^## /m)[0]!;

/** The rows of the metric table: name, type, labels. */
const documented = new Map(
  section
    .split('\n')
    .filter((line) => /^\| `tether_/.test(line))
    .map((line) => {
      const [, name, type, labels] = line.split('|').map((cell) => cell.trim());
      const labelNames = [...(labels ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).sort();
      return [name!.replaceAll('`', ''), { type: type!, labels: labelNames }] as const;
    }),
);

let server: TestServer;
afterAll(async () => server?.close());

/** Type and label names of each `tether_*` family in an exposition (histogram series folded into their family). */
function registered(text: string): Map<string, { type: string; labels: string[] }> {
  const families = new Map<string, { type: string; labels: Set<string> }>();
  for (const m of text.matchAll(/^# TYPE (tether_\S+) (\S+)$/gm))
    families.set(m[1]!, { type: m[2]!, labels: new Set() });
  for (const m of text.matchAll(/^(tether_[a-z_]+?)(?:_bucket|_sum|_count)?\{([^}]*)\}/gm)) {
    const family = families.get(m[1]!);
    if (!family) continue;
    for (const pair of m[2]!.matchAll(/([a-z_]+)="/g)) if (pair[1] !== 'le') family.labels.add(pair[1]!);
  }
  return new Map([...families].map(([name, f]) => [name, { type: f.type, labels: [...f.labels].sort() }]));
}

describe('the metric list of docs/operations.md §8', () => {
  it('names every metric the server registers, with its type and labels, and no other', async () => {
    server = await startServer({ adminKeys: [ADMIN_KEY] });
    // Figures in every labelled family, so that their labels show.
    await server.server.publish({ channel: 'chat:a', type: 't', data: {} });
    const { text } = await scrape(`${server.url}/metrics`);
    const actual = registered(text);
    expect(actual.size).toBeGreaterThan(20);
    expect([...actual.keys()].sort()).toEqual([...documented.keys()].sort());
    for (const [name, { type, labels }] of actual) {
      const doc = documented.get(name)!;
      expect({ name, type: doc.type }).toEqual({ name, type });
      // A family with no series yet (no push provider) shows no labels: only those it shows are compared.
      if (labels.length > 0) expect({ name, labels: doc.labels }).toEqual({ name, labels });
    }
  });
});
