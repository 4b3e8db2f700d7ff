/** The config file's `alerts` section: it maps onto the `alerts` option, secrets are read, mistakes name the field. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfigFile } from '../../src/config/check.js';
import { generateConfig } from '../../src/config/generate.js';
import { newWebhookSecret } from '../../src/push/standard-webhooks.js';
import { parseServeArgs } from '../../src/cli/serve-config.js';
import { serveOptionsOf } from '../../src/cli/serve-options.js';
import { UsageError } from '../../src/cli/errors.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-alerts-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env['TETHER_TEST_SMTP_PASS'];
});

function fileWith(config: unknown): string {
  const file = join(dir, 'tether.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('config: alerts', () => {
  it('maps every target and threshold onto the alerts option, reading secrets from a file or the environment', () => {
    const secret = newWebhookSecret();
    writeFileSync(join(dir, 'discord-url'), 'https://discord.example/api/webhooks/1/token\n');
    process.env['TETHER_TEST_SMTP_PASS'] = 'smtp-pass';
    const alerts = {
      discord: { url: { file: join(dir, 'discord-url') }, username: 'Tether' },
      slack: { url: 'https://hooks.slack.example/services/T/B/x' },
      webhook: { url: 'https://ops.example.com/alerts', secret, headers: { 'x-team': 'ops' } },
      email: {
        host: 'smtp.example.com',
        port: 2525,
        secure: false,
        user: 'alerts',
        pass: { env: 'TETHER_TEST_SMTP_PASS' },
        from: 'alerts@example.com',
        to: ['ops@example.com'],
      },
      cooldownMs: 60_000,
      deliveryRatioBelow: 0.95,
      missedPerWindow: 0,
    };
    expect(checkConfigFile(fileWith({ alerts })).options.alerts).toEqual({
      ...alerts,
      discord: { url: 'https://discord.example/api/webhooks/1/token', username: 'Tether' },
      email: { ...alerts.email, pass: 'smtp-pass' },
    });
  });

  it('reports mistakes with the file and the field', () => {
    const bad =
      (alerts: unknown): (() => unknown) =>
      () =>
        checkConfigFile(fileWith({ alerts }));
    expect(bad({ email: { host: 'h', user: 'u', from: 'a@b.c', to: 'd@e.f' } })).toThrow(/set both user and pass/);
    expect(bad({ email: { host: 'h', from: 'a@b.c', to: [] } })).toThrow(/alerts\.email\.to/);
    expect(bad({ slack: { url: { env: 'TETHER_TEST_UNSET_VARIABLE' } } })).toThrow(
      /alerts\.slack\.url: the environment variable TETHER_TEST_UNSET_VARIABLE is not set/,
    );
    expect(bad({ slack: { url: 'not a url' } })).toThrow(/tether\.json: alerts\.slack\.url must be an http\(s\) URL/);
    expect(bad({ webhook: { url: 'https://x.example', secret: 'whsec_c2hvcnQ=' } })).toThrow(
      /tether\.json: alerts\.webhook\.secret must be whsec_/,
    );
    expect(bad({ cooldownMs: 0 })).toThrow(/alerts\.cooldownMs/);
    expect(bad({ deliveryRatioBelow: 2 })).toThrow(/alerts\.deliveryRatioBelow/);
    expect(bad({ cooldown: 5 })).toThrow(/alerts\.cooldown: unknown key/);
  });

  it('genconfig writes an alerts section with the defaults that the check accepts', () => {
    const file = join(dir, 'generated.json');
    writeFileSync(file, generateConfig());
    expect(checkConfigFile(file).options.alerts).toMatchObject({ cooldownMs: 300_000, deliveryRatioBelow: 0.9 });
  });
});

describe('tether serve: node id and heartbeat', () => {
  it('TETHER_NODE_ID and TETHER_CLUSTER_HEARTBEAT_MS become the cluster option with a redis:// store', () => {
    const env = { TETHER_NODE_ID: 'node-a', TETHER_CLUSTER_HEARTBEAT_MS: '250' };
    const config = parseServeArgs(['--store', 'redis://127.0.0.1:1'], env)!;
    expect(serveOptionsOf(config, {}, {}).cluster).toEqual({
      redisUrl: 'redis://127.0.0.1:1',
      nodeId: 'node-a',
      heartbeatMs: 250,
    });
    // Without Redis there is no cluster; without either variable the default (the store's URL) applies.
    expect(serveOptionsOf(parseServeArgs(['--store', 'memory'], env)!, {}, {}).cluster).toBeUndefined();
    expect(serveOptionsOf(parseServeArgs(['--store', 'redis://127.0.0.1:1'], {})!, {}, {}).cluster).toBeUndefined();
  });

  it('refuses a node id with spaces or a heartbeat out of range', () => {
    expect(() => parseServeArgs([], { TETHER_NODE_ID: 'a b' })).toThrow(UsageError);
    expect(() => parseServeArgs([], { TETHER_CLUSTER_HEARTBEAT_MS: '5' })).toThrow(UsageError);
  });
});
