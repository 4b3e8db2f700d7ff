/** The config file's `push` section: it maps onto the `push` option, and mistakes are reported with the file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfigFile } from '../../src/config/check.js';
import { generateConfig } from '../../src/config/generate.js';
import { newWebhookSecret } from '../../src/push/standard-webhooks.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-push-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(config: unknown): string {
  const file = join(dir, 'tether.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('config: push', () => {
  it('maps webhook, policies and timings onto the push option', () => {
    const secret = newWebhookSecret();
    const push = {
      webhook: { url: 'https://api.example.com/push', secret, timeoutMs: 3000, headers: { 'x-app': 'rides' } },
      policies: { 'trip:requested': { ackWithin: 8000 }, 'chat:mention': {} },
      ackWithin: 12_000,
      maxDevicesPerUser: 4,
      leaseMs: 20_000,
    };
    expect(checkConfigFile(fileWith({ push })).options.push).toEqual(push);
  });

  it('reports a bad secret, URL or unknown key with the file name', () => {
    expect(() =>
      checkConfigFile(fileWith({ push: { webhook: { url: 'https://x.example', secret: 'whsec_c2hvcnQ=' } } })),
    ).toThrow(/tether\.json: push\.webhook\.secret must be whsec_ followed by the base64 of 24 to 64 random bytes/);
    expect(() =>
      checkConfigFile(fileWith({ push: { webhook: { url: 'ftp://x', secret: newWebhookSecret() } } })),
    ).toThrow(/push\.webhook\.url/);
    expect(() => checkConfigFile(fileWith({ push: { ackWithn: 5 } }))).toThrow(/push\.ackWithn: unknown key/);
    expect(() => checkConfigFile(fileWith({ push: { policies: { t: { ackWithin: 0 } } } }))).toThrow(/push\.policies/);
  });

  it('genconfig writes a push section with the defaults that the check accepts', () => {
    const file = join(dir, 'generated.json');
    writeFileSync(file, generateConfig());
    expect(checkConfigFile(file).options.push).toMatchObject({
      ackWithin: 10_000,
      maxDevicesPerUser: 10,
      policies: {},
    });
  });
});
