/** Precedence of `tether serve` settings: flag > environment variable > configuration file > default. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../src/cli/serve-config.js';
import { serveOptionsOf } from '../src/cli/serve-options.js';
import { limitsFromEnv } from '../src/cli/limits-env.js';
import { ConfigError } from '../src/cli/errors.js';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tether-precedence-'));
  file = path.join(dir, 'tether.json');
  await writeFile(
    file,
    JSON.stringify({
      server: { port: 7001, host: '10.0.0.1', store: 'memory', logLevel: 'debug' },
      auth: { jwtSecret: 'file-secret-0123456789' },
      apiKeys: [{ key: 'file-key-0123456789', tenant: 'acme' }],
      limits: { eventsPerMinutePerUser: 7, maxConnections: 9, maxPayloadBytes: 4096 },
      timings: { ackTimeoutMs: 1234 },
      retention: { perChannel: [{ channels: 'chat:*', maxMessages: 3 }] },
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(argv: string[], env: Record<string, string> = {}) {
  const config = parseServeArgs(argv, env);
  if (!config) throw new Error('help');
  return { config, options: serveOptionsOf(config, { jwtSecret: config.jwtSecret ?? 'dev' }, limitsFromEnv(env)) };
}

describe('tether serve settings precedence', () => {
  it('takes the file over the defaults', () => {
    const { config, options: o } = options(['--config', file]);
    expect(config).toMatchObject({ port: 7001, host: '10.0.0.1', store: 'memory', logLevel: 'debug' });
    expect(o.jwtSecret).toBe('file-secret-0123456789');
    expect(o.apiKeys).toEqual([{ key: 'file-key-0123456789', tenant: 'acme' }]);
    expect(o.limits).toEqual({ eventsPerMinutePerUser: 7, maxConnections: 9 });
    expect(o).toMatchObject({ maxPayloadBytes: 4096, ackTimeoutMs: 1234 });
    expect(o.retention?.perChannel).toEqual([{ channels: 'chat:*', maxMessages: 3 }]);
  });

  it('takes a variable over the file (TETHER_CONFIG names it), and TETHER_LIMITS merges over its limits', () => {
    const env = {
      TETHER_CONFIG: file,
      TETHER_PORT: '7002',
      TETHER_STORE: 'sqlite:' + path.join(dir, 'x.db'),
      TETHER_LOG_LEVEL: 'warn',
      TETHER_JWT_SECRET: 'env-secret-0123456789',
      TETHER_LIMITS: 'eventsPerMinutePerUser=11',
    };
    const { config, options: o } = options([], env);
    expect(config).toMatchObject({
      port: 7002,
      host: '10.0.0.1',
      logLevel: 'warn',
      store: `sqlite:${path.join(dir, 'x.db')}`,
    });
    expect(o.jwtSecret).toBe('env-secret-0123456789');
    expect(o.limits).toEqual({ eventsPerMinutePerUser: 11, maxConnections: 9 });
  });

  it('takes a flag over the variable and the file', () => {
    const { config } = options(['--config', file, '--port', '7003', '--host', '::1', '--store', 'memory'], {
      TETHER_PORT: '7002',
      TETHER_HOST: '10.0.0.2',
    });
    expect(config).toMatchObject({ port: 7003, host: '::1', store: 'memory' });
  });

  it('adds TETHER_API_KEY (any tenant) to the file keys', () => {
    const config = parseServeArgs(['--config', file], { TETHER_API_KEY: 'env-key-0123456789' });
    if (!config) throw new Error('help');
    const o = serveOptionsOf(config, { apiKey: 'env-key-0123456789' }, {});
    expect(o.apiKeys).toEqual([
      { key: 'file-key-0123456789', tenant: 'acme' },
      { key: 'env-key-0123456789', tenant: '*' },
    ]);
  });

  it('refuses a missing file with a ConfigError naming it', () => {
    expect(() => parseServeArgs(['--config', path.join(dir, 'none.json')], {})).toThrow(ConfigError);
    expect(() => parseServeArgs([], { TETHER_CONFIG: path.join(dir, 'none.json') })).toThrow(
      /none\.json: cannot read it/,
    );
  });
});
