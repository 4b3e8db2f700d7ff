/**
 * `scripts/ensure-test-tools.mjs` (the root `pretest`): what it decides from what a machine has, and
 * the script itself run with a PATH of our making — a fake `apt-get` that records its arguments —
 * so that the install path is exercised without touching this machine's packages.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { missingTools, onPath, plan } from '../../../scripts/ensure-test-tools.mjs';

const script = fileURLToPath(new URL('../../../scripts/ensure-test-tools.mjs', import.meta.url));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An empty directory to serve as the whole PATH. */
function binDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-ensure-'));
  dirs.push(dir);
  return dir;
}

function writeExecutable(file: string, body: string): void {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/** Runs the script with `PATH=dir` only (node is called by its absolute path). */
function runScript(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [script, ...args], {
    env: { PATH: dir, HOME: process.env.HOME ?? '/' },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('plan', () => {
  it('does nothing when every tool is there, whoever runs it', () => {
    expect(plan({ missing: [], root: false, apt: false })).toEqual({ action: 'none' });
  });

  it('installs what is missing as root with apt-get', () => {
    expect(plan({ missing: ['chromium', 'redis-server'], root: true, apt: true })).toEqual({
      action: 'install',
      packages: ['chromium', 'redis-server'],
    });
  });

  it('fails with one line naming the command when it is not root', () => {
    const next = plan({ missing: ['chromium'], root: false, apt: true });
    expect(next).toEqual({
      action: 'fail',
      line: 'npm test needs chromium: run `apt-get install -y chromium` as root',
    });
  });

  it('fails with one line when there is no apt-get', () => {
    const next = plan({ missing: ['redis-server'], root: true, apt: false });
    expect(next.action).toBe('fail');
    if (next.action !== 'fail') return;
    expect(next.line).toMatch(/^npm test needs redis-server: /);
    expect(next.line).not.toContain('\n');
  });
});

describe('probes', () => {
  it('finds an executable on PATH and ignores a file that is not executable', () => {
    const dir = binDir();
    writeExecutable(join(dir, 'redis-server'), 'exit 0');
    writeFileSync(join(dir, 'apt-get'), 'not executable');
    expect(onPath('redis-server', dir)).toBe(join(dir, 'redis-server'));
    expect(onPath('apt-get', dir)).toBeUndefined();
    expect(missingTools(dir)).not.toContain('redis-server');
    expect(missingTools(binDir())).toContain('redis-server');
  });
});

describe('the script', () => {
  it('--check passes on this machine (chromium, redis-server and prometheus are installed)', () => {
    const result = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('without apt-get and without redis-server on PATH: exit 1 and one line', () => {
    const result = runScript(binDir());
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^npm test needs redis-server: /);
  });

  it.runIf(isRoot)('--check says what it would install and calls no apt-get', () => {
    const dir = binDir();
    writeExecutable(join(dir, 'apt-get'), `echo "$@" >> ${dir}/calls`);
    const result = runScript(dir, '--check');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('apt-get install -y redis-server');
    expect(() => readFileSync(join(dir, 'calls'))).toThrow();
  });

  it.runIf(isRoot)('as root: apt-get update, then install, non-interactive; then the tool is found', () => {
    const dir = binDir();
    // The fake apt-get records its calls and, on install, "installs" redis-server into PATH.
    writeExecutable(
      join(dir, 'apt-get'),
      [
        `echo "$DEBIAN_FRONTEND $@" >> ${dir}/calls`,
        `case "$1" in install) printf '#!/bin/sh\\n' > ${dir}/redis-server; /bin/chmod +x ${dir}/redis-server;; esac`,
      ].join('\n'),
    );
    const result = runScript(dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')).toEqual([
      'noninteractive update -qq',
      'noninteractive install -y -qq redis-server',
    ]);
  });

  it.runIf(isRoot)('as root: an install that leaves the tool missing fails with one line', () => {
    const dir = binDir();
    writeExecutable(join(dir, 'apt-get'), 'exit 0');
    const result = runScript(dir);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'npm test needs redis-server: apt-get installed it but it is still not found',
    ]);
  });

  it.runIf(isRoot)('as root: a failing apt-get fails with one line of ours', () => {
    const dir = binDir();
    writeExecutable(join(dir, 'apt-get'), 'exit 100');
    const result = runScript(dir);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'npm test needs redis-server: `apt-get install -y redis-server` failed (see above)',
    );
  });
});
