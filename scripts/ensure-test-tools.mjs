#!/usr/bin/env node
/**
 * Makes sure the system programs the test suite drives are on this machine, so that `npm test` is
 * all the set-up a fresh clone needs (the root package.json's `pretest` runs this):
 * - `/usr/bin/chromium` (Debian's package; the browser end-to-end test drives it with
 *   playwright-core — a browser is never downloaded),
 * - `redis-server` (the Redis store's tests start private ones),
 * - `prometheus` and `promtool` (Debian's `prometheus`: the metrics tests check the exposition with
 *   promtool and scrape a test server with a real Prometheus).
 * When one is missing it installs it with apt-get (root and apt-get available: `apt-get update`
 * first, non-interactive); when it cannot, it fails with one line saying the command to run.
 *
 * `--check` installs nothing: it exits 0 when all is there, else 1 with the line it would act on.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The programs, by the Debian package that provides them. */
export const tools = [
  { pkg: 'chromium', path: '/usr/bin/chromium' },
  { pkg: 'redis-server', command: 'redis-server' },
  { pkg: 'prometheus', path: '/usr/bin/prometheus' },
];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command -v`, in Node: the first executable `name` on `PATH`, or undefined. */
export function onPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * What to do, from what the machine has: nothing, install `packages`, or stop with one line.
 * @param {{ missing: string[], root: boolean, apt: boolean }} machine
 * @returns {{ action: 'none' } | { action: 'install', packages: string[] } | { action: 'fail', line: string }}
 */
export function plan({ missing, root, apt }) {
  if (missing.length === 0) return { action: 'none' };
  const install = `apt-get install -y ${missing.join(' ')}`;
  if (!apt)
    return {
      action: 'fail',
      line: `npm test needs ${missing.join(' and ')}: install ${missing.join(' and ')} (no apt-get here: use this system's package manager; Debian: \`${install}\`)`,
    };
  if (!root) return { action: 'fail', line: `npm test needs ${missing.join(' and ')}: run \`${install}\` as root` };
  return { action: 'install', packages: missing };
}

/** The Debian packages of the tools this machine lacks. */
export function missingTools(path = process.env.PATH ?? '') {
  return tools
    .filter((tool) => (tool.path !== undefined ? !isExecutable(tool.path) : onPath(tool.command, path) === undefined))
    .map((tool) => tool.pkg);
}

function run(args) {
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

function main() {
  const checkOnly = process.argv.includes('--check');
  const missing = missingTools();
  const next = plan({
    missing,
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    apt: onPath('apt-get') !== undefined,
  });
  if (next.action === 'none') {
    if (checkOnly) console.log('test tools: chromium and redis-server are here');
    return 0;
  }
  if (next.action === 'fail') {
    console.error(next.line);
    return 1;
  }
  const list = next.packages.join(' ');
  if (checkOnly) {
    console.error(`test tools: missing ${list}; npm test would run \`apt-get update && apt-get install -y ${list}\``);
    return 1;
  }
  console.log(`test tools: apt-get install -y ${list}`);
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', ...next.packages])) {
    console.error(`npm test needs ${list}: \`apt-get install -y ${list}\` failed (see above)`);
    return 1;
  }
  const still = missingTools();
  if (still.length > 0) {
    console.error(`npm test needs ${still.join(' and ')}: apt-get installed it but it is still not found`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main());
