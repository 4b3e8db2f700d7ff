/**
 * `tether serve` (the built CLI, as a process) with `TETHER_ADMIN_KEY`: its key opens `/v1/stats`
 * (the publish API key does not), the dashboard page is served; a key shorter than 16 characters
 * is a configuration mistake (exit 2, one line).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, startServerProcess, type ServerProcess } from '@tether/testing';
import { getJson } from './admin-http.js';

const run = promisify(execFile);
const ADMIN_KEY = 'cli-admin-key-0123456789abcdef';
let proc: ServerProcess | undefined;
const dirs: string[] = [];

afterAll(async () => {
  await proc?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('TETHER_ADMIN_KEY', () => {
  it('opens /v1/stats to its key only, and the dashboard is served', async () => {
    proc = await startServerProcess({ args: ['--store', 'memory'], env: { TETHER_ADMIN_KEY: ADMIN_KEY } });
    const ok = await getJson(`${proc.url}/v1/stats`, ADMIN_KEY);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ nodeId: 'local', complete: true, total: { connections: 0 } });
    expect((await getJson(`${proc.url}/v1/stats`, proc.apiKey)).status).toBe(401);
    const page = await fetch(`${proc.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Admin key');
  });

  it('a key shorter than 16 characters exits 2 with one line', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'tether-admin-'));
    dirs.push(cwd);
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
    Object.assign(env, {
      TETHER_LOG_LEVEL: 'warn',
      TETHER_JWT_SECRET: 'secret-0123456789abcdef',
      TETHER_API_KEY: 'key-0123456789abcdef',
      TETHER_ADMIN_KEY: 'short',
    });
    const failure = await run(process.execPath, [cliPath, 'serve', '--port', '0', '--store', 'memory'], {
      cwd,
      env,
      // Generous: the box may be busy; the process exits by itself long before.
      timeout: 30_000,
    }).then(
      () => undefined,
      (err: unknown) => err as { code?: unknown; stderr?: string },
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/admin key must be ≥ 16/);
    expect(failure?.stderr?.trim().split('\n')).toHaveLength(1);
  });
});
