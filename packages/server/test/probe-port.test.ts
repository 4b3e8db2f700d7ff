/**
 * `probePort`: `/healthz` and `/readyz` on a listener of their own (docs/operations.md §2), with
 * the main port's answers; nothing else is served there; it closes with the server; it comes from
 * the config file (`http.probePort`) and a wrong one is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed } from '@tether/testing';
import { defaults } from '@tether/server';
import { parseConfig } from '../src/config/load.js';
import { fileSettingsOf } from '../src/config/to-options.js';
import { resolveOptions } from '../src/resolve-options.js';

const bed = new TestBed();
const dirs: string[] = [];
afterEach(async () => {
  await bed.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function request(url: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.json() };
}

describe('probePort', () => {
  it('serves /healthz and /readyz on their own port, as the main port does, and nothing else', async () => {
    const srv = await bed.start({ probePort: 0 });
    const probes = srv.server.probeUrl;
    expect(probes).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(probes).not.toBe(srv.url);
    for (const base of [srv.url, probes!]) {
      expect(await request(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await request(`${base}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
    }
    expect(await request(`${probes!}/healthz?verbose=1`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await request(`${probes!}/healthz`, 'POST')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await request(`${probes!}/v1/stats`)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await request(`${probes!}/metrics`)).toMatchObject({ status: 404 });
  });

  it('answers /readyz 503 store_unavailable there when the store cannot write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-probe-'));
    dirs.push(dir);
    const srv = await bed.start({ probePort: 0, store: `sqlite:${join(dir, 'data', 'tether.db')}` });
    expect((await request(`${srv.server.probeUrl!}/readyz`)).status).toBe(200);
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    const notReady = { status: 503, body: { error: { code: 'store_unavailable' } } };
    expect(await request(`${srv.server.probeUrl!}/readyz`)).toMatchObject(notReady);
    expect(await request(`${srv.url}/readyz`)).toMatchObject(notReady);
    expect(await request(`${srv.server.probeUrl!}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('closes with the server, and is not there unless asked', async () => {
    const srv = await bed.start({ probePort: 0 });
    const probes = srv.server.probeUrl!;
    await bed.close();
    await expect(fetch(`${probes}/healthz`)).rejects.toThrow();
    const plain = await bed.start();
    expect(plain.server.probeUrl).toBeUndefined();
    expect(defaults.probeHost).toBe('127.0.0.1');
  });

  it('comes from the config file, and a wrong one is refused', () => {
    const config = parseConfig(JSON.stringify({ http: { probePort: 9465, probeHost: '0.0.0.0' } }), 'x.json');
    expect(fileSettingsOf(config).options).toMatchObject({ probePort: 9465, probeHost: '0.0.0.0' });
    expect(() => parseConfig(JSON.stringify({ http: { probePort: 70_000 } }), 'x.json')).toThrow(/probePort/);
    expect(() => resolveOptions({ jwtSecret: 'x'.repeat(32), probePort: -1 })).toThrow(/probePort/);
    expect(() => resolveOptions({ jwtSecret: 'x'.repeat(32), probePort: 1.5 })).toThrow(/probePort/);
  });
});
