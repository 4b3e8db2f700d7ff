/**
 * `@tether/client/bundle` ships type declarations: a TypeScript file importing the bundle
 * (`fixtures/bundle-consumer`) type-checks under `strict`, with typed options and typed payloads
 * (its `@ts-expect-error` lines fail unless the types are real, not `any`), and `@internal` members
 * are not in them (`stripInternal` in tsconfig.base.json). Runs on the built
 * `dist/` (`npm test` builds first), resolved through package.json `exports`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/bundle-consumer/tsconfig.json', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('@tether/client/bundle types', () => {
  it('package.json exports the bundle with its types, and the declaration file is built', () => {
    const pkg = JSON.parse(readFileSync(`${pkgDir}package.json`, 'utf8')) as {
      exports: Record<string, { types?: string; default?: string }>;
    };
    const bundle = pkg.exports['./bundle'];
    expect(bundle?.default).toBe('./dist/tether-client.browser.js');
    expect(bundle?.types).toBe('./dist/bundle-types.d.ts');
    expect(existsSync(`${pkgDir}dist/bundle-types.d.ts`)).toBe(true);
  });

  it('a strict TypeScript file importing @tether/client/bundle type-checks', () => {
    const result = spawnSync(process.execPath, [tsc, '-p', fixture], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
