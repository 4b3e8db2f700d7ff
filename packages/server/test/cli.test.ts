/**
 * The `tether` CLI as a new user meets it: the built `dist/cli.js` run as a child process in an
 * empty directory. Needs `npm run build` first (the root `pretest` does it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, connectClient, startServerProcess, type TestClient } from '@tether/testing';
import { exitOnSignals } from '../src/cli/shutdown.js';
import { parseDurationSeconds } from '../src/cli/duration.js';
import { pino } from 'pino';

const run = promisify(execFile);

/** The environment of a user who set nothing: no TETHER_* variable from the developer's shell. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TETHER_')) env[key] = value;
  return { ...env, TETHER_LOG_LEVEL: 'warn', ...extra };
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short CLI command to its end. */
async function tether(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: options.env ?? userEnv(),
      timeout: 8000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A running `tether serve`, with what it printed. */
interface Serving {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** Starts `tether serve …` and resolves once the banner is complete (its last expected line is out). */
async function serve(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; until: RegExp },
): Promise<Serving> {
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], {
    cwd: options.cwd,
    env: options.env ?? userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 8 s:\n${err}\n${out}`)), 8000);
    const check = (): void => {
      if (!options.until.test(err)) return;
      clearTimeout(timer);
      resolve();
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tether serve exited with ${code}:\n${err}\n${out}`));
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** SIGTERM to a child we started; resolves its exit code. */
async function stop(s: Serving): Promise<number | null> {
  s.child.kill('SIGTERM');
  return s.exited;
}

function field(banner: string, pattern: RegExp): string {
  const value = pattern.exec(banner)?.[1];
  if (!value) throw new Error(`banner has no ${pattern}:\n${banner}`);
  return value;
}

let dir: string;
const clients: TestClient[] = [];

beforeAll(() => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run 'npm run build' first`);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tether-cli-'));
  return dir;
}

const CURL_LINE = /^\s*(curl .*)$/m;

/**
 * Runs the printed curl command through a shell, as a user would paste it; without curl on the
 * machine, sends the same request (URL, headers, body parsed from the command) with fetch.
 */
async function publishAsPrinted(curl: string): Promise<string> {
  const hasCurl = await run('curl', ['--version']).then(
    () => true,
    () => false,
  );
  if (hasCurl) return (await run('sh', ['-c', curl], { timeout: 5000 })).stdout;
  const url = field(curl, /-X POST (\S+)/);
  const headers = Object.fromEntries([...curl.matchAll(/-H '([^:]+): ([^']*)'/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
  const res = await fetch(url, { method: 'POST', headers, body: field(curl, /-d '([^']*)'/) });
  return res.text();
}

describe('tether serve, first start with no secrets', () => {
  it('creates dev secrets, prints a working token and curl command, and delivers the publish', async () => {
    const cwd = await tempDir();
    const s = await serve(['--port', '0'], { cwd, until: CURL_LINE });
    const banner = s.stderr();

    const url = field(banner, /^tether listening on (http:\/\/\S+)$/m);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
    const token = field(banner, /^\s*token:\s+(\S+)$/m);
    const apiKey = field(banner, /^\s*api key:\s+(\S+)$/m);
    const jwtSecret = field(banner, /^\s*jwt secret:\s+(\S+)$/m);

    const file = path.join(cwd, 'data', 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(secrets).toMatchObject({ jwtSecret, apiKey });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(jwtSecret));
    expect(payload).toMatchObject({ sub: 'demo', channels: ['*'] });

    const client = await connectClient(url, token);
    clients.push(client);
    const curl = field(banner, CURL_LINE);
    expect(curl).toContain(`${url}/v1/publish`);
    expect(curl).toContain(`Authorization: Bearer ${apiKey}`);
    expect(JSON.parse(await publishAsPrinted(curl))).toMatchObject({ offset: 1 });

    const msg = await client.messages.waitFor((m) => m.channel === 'user:demo');
    expect(msg).toEqual({ channel: 'user:demo', offset: 1, type: 'hello', data: { text: 'hello from curl' } });
    expect(s.stdout()).not.toContain('tether listening on'); // stdout is JSON logs only
    expect(await stop(s)).toBe(0);
  });

  it('reuses the same secrets on the next start: yesterday’s token still connects', async () => {
    const cwd = await tempDir();
    const first = await serve(['--port', '0'], { cwd, until: CURL_LINE });
    const token = field(first.stderr(), /^\s*token:\s+(\S+)$/m);
    const apiKey = field(first.stderr(), /^\s*api key:\s+(\S+)$/m);
    expect(first.stderr()).toContain('created');
    expect(await stop(first)).toBe(0);

    const second = await serve(['--port', '0'], { cwd, until: CURL_LINE });
    expect(second.stderr()).toContain('reused');
    expect(field(second.stderr(), /^\s*api key:\s+(\S+)$/m)).toBe(apiKey);
    const url = field(second.stderr(), /^tether listening on (http:\/\/\S+)$/m);
    const client = await connectClient(url, token);
    clients.push(client);
    expect(client.socket.connected).toBe(true);
    expect(await stop(second)).toBe(0);
  });
});

describe('tether serve with secrets from the environment', () => {
  it('prints nothing secret and writes no secrets file', async () => {
    const cwd = await tempDir();
    const jwtSecret = 'env-secret-0123456789abcdef';
    const apiKey = 'env-api-key-0123456789';
    const env = userEnv({ TETHER_JWT_SECRET: jwtSecret, TETHER_API_KEY: apiKey, TETHER_LOG_LEVEL: 'info' });
    const s = await serve(['--port', '0', '--store', 'memory'], { cwd, env, until: /^tether listening on/m });
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the start-up log lines out
    expect(await stop(s)).toBe(0);
    const printed = s.stdout() + s.stderr();
    expect(printed).not.toContain(jwtSecret);
    expect(printed).not.toContain(apiKey);
    expect(printed).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no token
    expect(existsSync(path.join(cwd, 'data', 'secrets.json'))).toBe(false);
    // Logs are JSON lines.
    const lines = s.stdout().trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});

describe('configuration mistakes exit 2 with one line (docs/operations.md)', () => {
  const secretsFile = { jwtSecret: 'planted-secret-0123456789abcdef', apiKey: 'planted-key-0123456789abc' };

  async function plant(mode: number, foreign: boolean): Promise<string> {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'data'), { mode: 0o700 });
    const file = path.join(cwd, 'data', 'secrets.json');
    await writeFile(file, JSON.stringify(secretsFile));
    await chmod(file, mode);
    // Another owner: as root, hand it to nobody; otherwise point it at a root-owned file.
    if (foreign && process.getuid?.() === 0) await chown(file, 65_534, 65_534);
    else if (foreign) await rm(file).then(() => symlink('/etc/hostname', file));
    return cwd;
  }

  it.each([
    ['owned by another user', 0o600, true, /secrets\.json is owned by uid \d+, not by this user/],
    ['group-writable', 0o620, false, /secrets\.json is group- or world-writable \(mode 620\)/],
    ['world-writable', 0o606, false, /secrets\.json is group- or world-writable \(mode 606\)/],
  ])('a secrets.json %s is refused', async (_what, mode, foreign, message) => {
    const cwd = await plant(mode, foreign);
    const r = await tether(['serve', '--port', '0', '--store', 'memory'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain(secretsFile.jwtSecret);
  });

  it('a secrets.json of this user, mode 0644, is used and tightened to 0600', async () => {
    const cwd = await plant(0o644, false);
    const s = await serve(['--port', '0', '--store', 'memory'], { cwd, until: CURL_LINE });
    expect(await stop(s)).toBe(0);
    expect(s.stderr()).toContain(secretsFile.apiKey);
    expect((await stat(path.join(cwd, 'data', 'secrets.json'))).mode & 0o777).toBe(0o600);
  });

  it.each([
    [{ TETHER_JWT_SECRET: 'short', TETHER_API_KEY: 'key-0123456789abcdef' }, /jwtSecret must be at least 16/],
    [{ TETHER_JWT_SECRET: 'secret-0123456789abcdef', TETHER_API_KEY: 'short' }, /API key must be ≥ 16/],
  ])('a setting the server refuses (%j) exits 2', async (vars, message) => {
    const cwd = await tempDir();
    const r = await tether(['serve', '--port', '0', '--store', 'memory'], { cwd, env: userEnv(vars) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('tether serve shutdown', () => {
  it('exits 0 on SIGTERM after closing; clients reconnect to the next process and resume (sqlite)', async () => {
    const dataDir = await tempDir();
    const secrets = { jwtSecret: 'shared-secret-0123456789abcdef', apiKey: 'shared-key-0123456789' };
    const first = await startServerProcess({ dataDir, secrets });
    const token = await first.token({ sub: 'ann' });
    const client = await connectClient(first.url, token);
    clients.push(client);
    const res = await fetch(`${first.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'user:ann', type: 'note', data: { n: 1 } }),
    });
    expect(res.status).toBe(200);
    const got = await client.messages.waitFor((m) => m.channel === 'user:ann');
    const epoch = client.messages.frames[0]?.epoch;

    const disconnected = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // A transport close (not a server-side disconnect) is what makes clients reconnect.
    expect(await disconnected).toBe('transport close');

    const second = await startServerProcess({ dataDir, secrets });
    try {
      const resumed = await connectClient(second.url, token, { positions: { 'user:ann': { epoch, offset: 0 } } });
      clients.push(resumed);
      const again = await resumed.messages.waitFor((m) => m.channel === 'user:ann');
      expect(again).toEqual(got);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('fails with one line and exit code 1 when the port is taken', async () => {
    const cwd = await tempDir();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const r = await tether(['serve', '--port', String(port), '--store', 'memory'], { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^tether: .*EADDRINUSE/m);
    } finally {
      blocker.close();
    }
  });
});

describe('tether token', () => {
  it('prints a JWT alone that verifies and carries the given claims', async () => {
    const cwd = await tempDir();
    const secret = 'token-secret-0123456789abcdef';
    const r = await tether(
      ['token', '--sub', 'alice', '--tenant', 'acme', '--channels', 'trip:*, room:1', '--publish', 'room:*'],
      { cwd, env: userEnv({ TETHER_JWT_SECRET: secret }) },
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload, protectedHeader } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({
      sub: 'alice',
      tenant: 'acme',
      channels: ['trip:*', 'room:1'],
      publish: ['room:*'],
    });
    expect(payload.exp! - payload.iat!).toBe(3600); // default --ttl 1h
  });

  it('takes --secret and --ttl, or the secret that tether serve left in the data dir', async () => {
    const cwd = await tempDir();
    const r = await tether(['token', '--sub', 'bob', '--secret', 'flag-secret-0123456789', '--ttl', '15m'], { cwd });
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode('flag-secret-0123456789'));
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.tenant).toBeUndefined();

    const s = await serve(['--port', '0', '--store', 'memory'], { cwd, until: CURL_LINE });
    expect(await stop(s)).toBe(0);
    const jwtSecret = field(s.stderr(), /^\s*jwt secret:\s+(\S+)$/m);
    const fromFile = await tether(['token', '--sub', 'carol', '--ttl', '7d'], { cwd });
    const verified = await jwtVerify(fromFile.stdout.trim(), new TextEncoder().encode(jwtSecret));
    expect(verified.payload.exp! - verified.payload.iat!).toBe(7 * 86_400);
  });
});

describe('usage', () => {
  it.each([
    [[], /missing command/],
    [['launch'], /unknown command 'launch'/],
    [['serve', '--prot', '1'], /unknown option '--prot'/],
    [['serve', '--port', 'http'], /invalid port 'http'/],
    [['serve', '--store', 'postgres:x'], /invalid store/],
    [['serve', 'extra'], /unexpected argument 'extra'/],
    [['token'], /missing --sub/],
    [['token', '--sub', 'a', '--secret', 's', '--ttl', '5y'], /invalid duration '5y'/],
    [['token', '--sub', 'a b', '--secret', 's'], /invalid sub/],
    [['token', '--sub', 'a'], /no secret/],
  ])('tether %j exits 2 with one line', async (args, message) => {
    const cwd = await tempDir();
    const r = await tether(args, { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([[['--help']], [['serve', '--help']], [['token', '--help']]])('tether %j prints usage', async (args) => {
    const cwd = await tempDir();
    const r = await tether(args, { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tether/);
  });
});

describe('cli units', () => {
  it('parses durations', () => {
    expect([parseDurationSeconds('30s'), parseDurationSeconds('15m'), parseDurationSeconds('1h')]).toEqual([
      30, 900, 3600,
    ]);
    expect([parseDurationSeconds('7d'), parseDurationSeconds('45')]).toEqual([604_800, 45]);
    for (const bad of ['', '0', '1.5h', '-1m', '1w', 'h']) expect(() => parseDurationSeconds(bad)).toThrow(RangeError);
  });

  it('closes once on the first signal and exits at once on the second', async () => {
    const codes: number[] = [];
    let release: () => void = () => undefined;
    const closing = new Promise<void>((resolve) => (release = resolve));
    let closes = 0;
    const remove = exitOnSignals({
      close: () => {
        closes++;
        return closing;
      },
      log: pino({ level: 'silent' }),
      exit: (code) => codes.push(code),
      signals: ['SIGUSR2'],
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(codes).toEqual([128 + os.constants.signals.SIGUSR2]);
    release();
    await closing;
    await new Promise((resolve) => setImmediate(resolve));
    expect(codes.at(-1)).toBe(0);
    expect(closes).toBe(1);
    remove();
  });
});

afterAll(async () => {
  for (const child of started) child.kill('SIGKILL');
});
