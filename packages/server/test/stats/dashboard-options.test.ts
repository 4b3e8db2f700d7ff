/**
 * The dashboard's settings (`adminKeys`, `dashboard.enabled`, `dashboard.path`,
 * `statsIntervalMs`; docs/operations.md §1): from the config file into server options, written by
 * genconfig, refused when wrong in the file and in options; and served where they say: a custom
 * path, none when disabled, and on an app's own HTTP server only Tether's paths go to Tether.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { defaults } from '@tether/server';
import { startServer } from '@tether/testing';
import { parseConfig } from '../../src/config/load.js';
import { fileSettingsOf } from '../../src/config/to-options.js';
import { generateConfig } from '../../src/config/generate.js';
import { resolveOptions } from '../../src/resolve-options.js';

const jwtSecret = 'x'.repeat(32);
const ADMIN_KEY = 'options-admin-key-0123456789';

describe('dashboard settings', () => {
  it('come from the file as server options', () => {
    const config = parseConfig(
      JSON.stringify({
        adminKeys: [ADMIN_KEY],
        dashboard: { enabled: false, path: '/ops/board' },
        timings: { statsIntervalMs: 2000 },
      }),
      'x.json',
    );
    expect(fileSettingsOf(config).options).toMatchObject({
      adminKeys: [ADMIN_KEY],
      dashboard: { enabled: false, path: '/ops/board' },
      statsIntervalMs: 2000,
    });
  });

  it('genconfig writes a fresh admin key and the defaults', () => {
    const a = JSON.parse(generateConfig()) as { adminKeys: string[]; dashboard: object; timings: object };
    const b = JSON.parse(generateConfig()) as { adminKeys: string[] };
    expect(a.adminKeys).toHaveLength(1);
    expect(a.adminKeys[0]!.length).toBeGreaterThanOrEqual(16);
    expect(a.adminKeys[0]).not.toBe(b.adminKeys[0]);
    expect(a.dashboard).toMatchObject({ enabled: true, path: '/dashboard' });
    expect(a.timings).toMatchObject({ statsIntervalMs: 5000 });
    expect(defaults).toMatchObject({
      adminKeys: [],
      dashboard: { enabled: true, path: '/dashboard' },
      statsIntervalMs: 5000,
    });
  });

  it('wrong values are refused, in the file and in options', () => {
    expect(() => parseConfig(JSON.stringify({ adminKeys: ['short'] }), 'x.json')).toThrow(/adminKeys/);
    expect(() => parseConfig(JSON.stringify({ dashboard: { path: 'no-slash' } }), 'x.json')).toThrow(/dashboard\.path/);
    expect(() => parseConfig(JSON.stringify({ dashboard: { colour: 'red' } }), 'x.json')).toThrow(/colour/);
    expect(() => parseConfig(JSON.stringify({ timings: { statsIntervalMs: 0 } }), 'x.json')).toThrow(/statsIntervalMs/);
    expect(() => resolveOptions({ jwtSecret, adminKeys: ['short'] })).toThrow(/admin key/);
    expect(() => resolveOptions({ jwtSecret, dashboard: { path: '/v1/board' } })).toThrow(/dashboard\.path/);
    expect(() => resolveOptions({ jwtSecret, dashboard: { path: '/a b' } })).toThrow(/dashboard\.path/);
    expect(() => resolveOptions({ jwtSecret, statsIntervalMs: 0 })).toThrow(/statsIntervalMs/);
    expect(resolveOptions({ jwtSecret, dashboard: { path: '/ops' } }).dashboard).toEqual({
      enabled: true,
      path: '/ops',
    });
  });
});

describe('where the dashboard is served', () => {
  it('at a custom path; nowhere when disabled', async () => {
    const custom = await startServer({ dashboard: { path: '/ops/board' } });
    const off = await startServer({ dashboard: { enabled: false } });
    try {
      const page = await fetch(`${custom.url}/ops/board/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
      expect(await page.text()).toContain('Admin key');
      const redirect = await fetch(`${custom.url}/ops/board`, { redirect: 'manual' });
      expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/ops/board/']);
      expect((await fetch(`${custom.url}/ops/board/uplot.js`)).status).toBe(200);
      expect((await fetch(`${custom.url}/dashboard/`)).status).toBe(404);
      expect((await fetch(`${off.url}/dashboard/`)).status).toBe(404);
    } finally {
      await custom.close();
      await off.close();
    }
  });

  it("on an app's HTTP server, the dashboard's path goes to Tether and the rest to the app", async () => {
    const appServer = http.createServer((_req, res) => res.writeHead(200).end('the app'));
    const srv = await startServer({ httpServer: appServer, adminKeys: [ADMIN_KEY] });
    try {
      expect(await (await fetch(`${srv.url}/dashboard/`)).text()).toContain('Admin key');
      expect(await (await fetch(`${srv.url}/dashboard-not`)).text()).toBe('the app');
      expect(await (await fetch(`${srv.url}/`)).text()).toBe('the app');
      const stats = await fetch(`${srv.url}/v1/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(stats.status).toBe(200);
    } finally {
      await srv.close();
      await new Promise<void>((resolve) => appServer.close(() => resolve()));
    }
  });
});
