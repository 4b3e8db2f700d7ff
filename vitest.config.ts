import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const file = (pkg: string, name: string): string =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${name}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; child processes (CLI tests) run the built `dist/`.
    alias: [
      { find: /^@tether\/protocol\/wire$/, replacement: file('protocol', 'wire.ts') },
      { find: /^@tether\/protocol$/, replacement: file('protocol', 'index.ts') },
      { find: /^@tether\/server$/, replacement: file('server', 'index.ts') },
      { find: /^@tether\/testing$/, replacement: file('testing', 'index.ts') },
      { find: /^@tether\/client$/, replacement: file('client', 'index.ts') },
      { find: /^@tether\/nestjs$/, replacement: file('nestjs', 'index.ts') },
      { find: /^@tether\/react$/, replacement: file('react', 'index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: keep parallel files few so real-time tests stay honest.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
