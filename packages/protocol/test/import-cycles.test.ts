/**
 * No package's modules import values from each other in a cycle. A cycle passes the tests that load
 * the sources through vitest and still throws a TDZ ReferenceError in plain Node when the built
 * package is entered from the other side of the cycle (the client enters the protocol by wire.js).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** `import … from './x.js'` and `export … from './x.js'`, not `import type` / `export type`. */
const VALUE_IMPORT = /^(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+'(\.[^']+)'/gms;

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `{ type A, type B }` imports nothing at run time. */
function onlyTypes(clause: string): boolean {
  const names = clause.trim();
  if (!names.startsWith('{')) return false;
  const list = names
    .slice(1, -1)
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return list.length > 0 && list.every((name) => name.startsWith('type '));
}

function valueImports(file: string): string[] {
  const imports: string[] = [];
  for (const match of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
    if (onlyTypes(match[1] ?? '')) continue;
    imports.push(resolve(dirname(file), (match[2] ?? '').replace(/\.js$/, '.ts')));
  }
  return imports;
}

export function importCycles(sourceDir: string): string[][] {
  const graph = new Map(sourcesOf(sourceDir).map((file) => [file, valueImports(file)]));
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string, path: string[]): void => {
    visiting.add(file);
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (visiting.has(next)) cycles.push(path.slice(path.indexOf(next)).map((f) => relative(sourceDir, f)));
      else if (!done.has(next)) visit(next, path);
    }
    path.pop();
    visiting.delete(file);
    done.add(file);
  };
  for (const file of graph.keys()) if (!done.has(file)) visit(file, []);
  return cycles;
}

describe('module graph', () => {
  const packages = readdirSync(PACKAGES, { withFileTypes: true }).filter((entry) => entry.isDirectory());

  it.each(packages.map((entry) => entry.name))('packages/%s/src imports no value in a cycle', (name) => {
    expect(importCycles(join(PACKAGES, name, 'src'))).toEqual([]);
  });

  it('finds a cycle of two modules (the check can fail)', () => {
    const cycles = importCycles(join(PACKAGES, 'protocol', 'test', 'fixtures', 'import-cycle'));
    expect(cycles).toEqual([['a.ts', 'b.ts']]);
  });
});
