import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ADMIN_KEY = 'admin-key-for-metrics-tests';

/** GET the metrics with the admin key (or `key`; null: none); the status and the body. */
export async function scrape(url: string, key: string | null = ADMIN_KEY): Promise<{ status: number; text: string }> {
  const response = await fetch(url, key !== null ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: response.status, text: await response.text() };
}

/** `promtool check metrics` over the exposition text: its exit code and what it said. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tether-promtool-'));
  try {
    const file = path.join(dir, 'metrics.txt');
    writeFileSync(file, text);
    const result = spawnSync('/bin/sh', ['-c', `/usr/bin/promtool check metrics < "${file}"`], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The names of the metric families in an exposition (`# TYPE name type`). */
export function familyNames(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!);
}

/** The value of one sample line, `name{labels} value`, or undefined. */
export function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
