/**
 * `tether serve --config FILE` as an operator runs it (the built CLI as a child process): relevance
 * rules, tenant-scoped API keys and per-channel retention from the file are honoured; flags and
 * variables win over the file; mistakes exit 2 with one line naming the field. Needs `npm run build`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, startServerProcess, type ServerProcess } from '@tether/testing';

const run = promisify(execFile);
const keyOf = (tenant: string): string => `tk_${tenant}_${randomBytes(12).toString('base64url')}`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function tether(args: string[], cwd: string): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TETHER_')));
  try {
    const { stdout, stderr } = await run(process.execPath, [cliPath, ...args], { cwd, env, timeout: 8000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'tether-config-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('tether serve --config', () => {
  const acmeKey = keyOf('acme');
  const betaKey = keyOf('beta');
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      config: {
        '//': 'a comment',
        // The flags (--port 0, --host) and TETHER_JWT_SECRET of startServerProcess win over these.
        server: { port: 1, host: '0.0.0.0', store: 'memory', logLevel: 'warn' },
        auth: { jwtSecret: 'f'.repeat(40) },
        apiKeys: [
          { key: acmeKey, tenant: 'acme' },
          { key: betaKey, tenant: 'beta' },
        ],
        retention: { maxMessages: 100, perChannel: [{ channels: 'chat:*', maxMessages: 3 }] },
        relevance: {
          'trip:requested': { supersededBy: ['trip:cancelled'] },
          'trip:eta': { ttl: 1 },
          'driver:location': { collapseKey: 'driver.id' },
        },
      },
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  const publish = (key: string, body: object): Promise<Response> =>
    fetch(`${server.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Every retained and relevant message of `channels` for a user of `tenant`, through /v1/poll. */
  type Message = { type: string; offset: number; data: unknown };
  interface Read {
    messages?: Message[];
    resync?: { epoch: string; offset: number };
  }

  /** What a user of `tenant` reads of `channel` after `offset`, through /v1/poll. */
  async function readFrom(tenant: string, channel: string, offset: number): Promise<Read> {
    const token = await server.token({ sub: 'reader', tenant, channels: ['*'] });
    const poll = async (positions: object): Promise<Read & { epoch?: string }> => {
      const res = await fetch(`${server.url}/v1/poll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ positions, wait: 0 }),
      });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { channels: Record<string, Read & { epoch?: string }> };
      return answer.channels[channel] ?? {};
    };
    // A `null` position answers the channel's epoch; then the read from `offset` in that epoch.
    const { epoch } = await poll({ [channel]: null });
    return poll({ [channel]: { epoch, offset } });
  }

  const readAll = async (tenant: string, channel: string): Promise<Message[]> =>
    (await readFrom(tenant, channel, 0)).messages ?? [];

  it('listens where the flags say, not where the file says', () => {
    expect(server.port).not.toBe(1);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('scopes each API key to its tenant', async () => {
    expect((await publish(acmeKey, { tenant: 'beta', channel: 'news', type: 'x', data: 1 })).status).toBe(403);
    expect((await publish(betaKey, { tenant: 'acme', channel: 'news', type: 'x', data: 1 })).status).toBe(403);
    expect((await publish(acmeKey, { channel: 'news', type: 'acme-only', data: 1 })).status).toBe(200);
    expect((await publish(betaKey, { channel: 'news', type: 'beta-only', data: 2 })).status).toBe(200);
    expect((await readAll('acme', 'news')).map((m) => m.type)).toEqual(['acme-only']);
    expect((await readAll('beta', 'news')).map((m) => m.type)).toEqual(['beta-only']);
  });

  it('skips superseded, expired and collapsed types on replay', async () => {
    const types: [string, object][] = [
      ['trip:requested', {}],
      ['trip:eta', { minutes: 4 }],
      ['driver:location', { driver: { id: 'd1' }, n: 1 }],
      ['driver:location', { driver: { id: 'd2' }, n: 2 }],
      ['driver:location', { driver: { id: 'd1' }, n: 3 }],
      ['trip:cancelled', {}],
    ];
    for (const [type, data] of types) {
      expect((await publish(acmeKey, { channel: 'trip:1', type, data })).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // past trip:eta's 1 ms ttl
    const trip = await readAll('acme', 'trip:1');
    expect(trip.map((m) => [m.type, m.offset])).toEqual([
      ['driver:location', 4],
      ['driver:location', 5],
      ['trip:cancelled', 6],
    ]);
  });

  it('keeps 3 messages on chat:* and the global count elsewhere', async () => {
    for (let i = 1; i <= 6; i++) {
      expect((await publish(acmeKey, { channel: 'chat:lobby', type: 'said', data: i })).status).toBe(200);
      expect((await publish(acmeKey, { channel: 'room:lobby', type: 'said', data: i })).status).toBe(200);
    }
    // chat:lobby: offsets 1-3 are gone (a position before them resyncs), 4-6 are there.
    expect((await readFrom('acme', 'chat:lobby', 2)).resync).toMatchObject({ offset: 6 });
    expect((await readFrom('acme', 'chat:lobby', 3)).messages?.map((m) => m.data)).toEqual([4, 5, 6]);
    expect((await readAll('acme', 'room:lobby')).map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('configuration mistakes', () => {
  async function serveWith(config: string): Promise<CliResult> {
    const file = path.join(cwd, `c${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, config);
    return tether(['serve', '--config', file, '--port', '0', '--data-dir', path.join(cwd, 'data')], cwd);
  }

  it.each([
    ['a misspelt key', { retension: {} }, /: retension: unknown key \(did you mean "retention"\?\)$/],
    [
      'a wrong type',
      { relevance: { 'trip:requested': { ttl: '30s' } } },
      /: relevance\.trip:requested\.ttl: expected a number, got "30s"$/,
    ],
    [
      'an unknown field',
      { retention: { perChannel: [{ channels: 'chat:*', keep: 3 }] } },
      /: retention\.perChannel\[0\]\.keep: unknown key/,
    ],
    [
      'a bound tying two fields',
      { limits: { maxQueuedBytes: 2048, maxBatchBytes: 2048 } },
      /maxQueuedBytes must be at least twice maxBatchBytes/,
    ],
  ])('exits 2 with one line naming the field for %s', async (_name, config, line) => {
    const result = await serveWith(JSON.stringify(config));
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tether: config .*\.json: /);
    expect(lines[0]).toMatch(line);
  });

  it('reports every mistake, one line each, and invalid JSON in one line', async () => {
    const several = await serveWith(JSON.stringify({ server: { port: 'x' }, limits: { maxPayloadByte: 1 } }));
    expect(several.code).toBe(2);
    expect(several.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/: server\.port: expected a number, got "x"$/),
      expect.stringMatching(/: limits\.maxPayloadByte: unknown key \(did you mean "maxPayloadBytes"\?\)$/),
    ]);
    const broken = await serveWith('{ "server": ');
    expect(broken.code).toBe(2);
    expect(broken.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tether: config .*: not valid JSON: /)]);
  });
});

describe('tether genconfig and check-config', () => {
  it('genconfig prints a file with fresh secrets that check-config accepts and serve runs with', async () => {
    const a = await tether(['genconfig'], cwd);
    const b = await tether(['genconfig'], cwd);
    expect(a.code).toBe(0);
    const first = JSON.parse(a.stdout) as { auth: { jwtSecret: string }; apiKeys: { key: string }[] };
    const second = JSON.parse(b.stdout) as typeof first;
    expect(first.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.auth.jwtSecret).not.toBe(second.auth.jwtSecret);
    expect(first.apiKeys[0]?.key).not.toBe(second.apiKeys[0]?.key);
    expect(a.stdout).toContain('"//"');

    const file = path.join(cwd, 'generated.json');
    await writeFile(file, a.stdout);
    expect(await tether(['check-config', file], cwd)).toEqual({ code: 0, stdout: `config ${file}: ok\n`, stderr: '' });
    const server = await startServerProcess({ secrets: 'none', args: ['--config', file] });
    try {
      // The file's API key publishes; with the file's secret and keys no dev secrets file is made.
      expect(existsSync(path.join(server.dataDir, 'secrets.json'))).toBe(false);
      const res = await fetch(`${server.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.apiKeys[0]?.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', type: 'x', data: 1 }),
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('genconfig --out writes mode 0600 and never overwrites', async () => {
    const file = path.join(cwd, 'out.json');
    const written = await tether(['genconfig', '--out', file], cwd);
    expect(written.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const before = await readFile(file, 'utf8');
    const again = await tether(['genconfig', '--out', file], cwd);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^tether: cannot write .*out\.json: EEXIST/);
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('check-config exits 2 with the mistakes, and 2 for a missing argument', async () => {
    const file = path.join(cwd, 'bad.json');
    await writeFile(file, JSON.stringify({ http: { corsOrigin: ['https://a.example'] } }));
    const bad = await tether(['check-config', file], cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`tether: config ${file}: http.corsOrigin: unknown key (did you mean "corsOrigins"?)\n`);
    const missing = await tether(['check-config'], cwd);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing the configuration file/);
  });
});

describe('the tether bin entry (packages/server/bin/tether.js)', () => {
  const bin = path.join(path.dirname(cliPath), '..', 'bin', 'tether.js');

  it('runs the built CLI', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help'], { cwd });
    expect(stdout).toMatch(/^Usage: tether <command>/);
  });

  it('says to build first, in one line with exit 1, when dist/cli.js is missing', async () => {
    const copy = path.join(cwd, 'unbuilt', 'bin', 'tether.js');
    await mkdir(path.dirname(copy), { recursive: true });
    await copyFile(bin, copy);
    const result = await run(process.execPath, [copy, '--help'], { cwd }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tether: .*run npm run build first\n$/);
  });
});
