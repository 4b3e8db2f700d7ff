/**
 * `tether serve` with public keys, a JWKS URL, issuer, audience and maximum lifetime from the
 * environment: parsing (a mistake is a usage error naming the variable), `--help`, and the built
 * CLI as a child process (needs `npm run build`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startServerProcess } from '@tether/testing';
import { parseServeArgs } from '../../src/cli/serve-config.js';
import { serveHelp } from '../../src/cli/help.js';
import { UsageError } from '../../src/cli/errors.js';
import { handshakeOutcome } from './server-auth.js';
import { keyPair, sign, type TestKeyPair } from './keys.js';

let dir: string;
let ec: TestKeyPair;
let ed: TestKeyPair;
let pemFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tether-auth-cli-'));
  [ec, ed] = await Promise.all([keyPair('ES256'), keyPair('EdDSA')]);
  pemFile = path.join(dir, 'keys.pem');
  await writeFile(pemFile, `# issuer keys\n${ec.pem}\n${ed.pem}`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function usageError(env: Record<string, string>): string {
  try {
    parseServeArgs([], env);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
}

describe('tether serve: auth settings', () => {
  it('reads TETHER_JWT_PUBLIC_KEY (every PEM block), TETHER_JWKS_URL, issuer, audience and max lifetime', () => {
    const config = parseServeArgs([], {
      TETHER_JWT_PUBLIC_KEY: pemFile,
      TETHER_JWKS_URL: 'https://auth.example/.well-known/jwks.json',
      TETHER_JWT_ISSUER: 'https://auth.example',
      TETHER_JWT_AUDIENCE: 'tether, tether-eu',
      TETHER_JWT_MAX_LIFETIME: '1h',
    });
    expect(config?.auth).toEqual({
      jwtPublicKeys: [ec.pem.trim(), ed.pem.trim()],
      jwksUrl: 'https://auth.example/.well-known/jwks.json',
      jwtIssuer: ['https://auth.example'],
      jwtAudience: ['tether', 'tether-eu'],
      maxTokenLifetimeSeconds: 3600,
    });
    expect(parseServeArgs([], { TETHER_JWKS_URL: '', TETHER_JWT_ISSUER: '' })?.auth).toEqual({});
  });

  it('a mistake is a usage error naming the variable', async () => {
    const privatePem = path.join(dir, 'private.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(privatePem, String(privateKey.export({ type: 'pkcs8', format: 'pem' })));
    const empty = path.join(dir, 'empty.pem');
    await writeFile(empty, 'nothing here\n');
    expect(usageError({ TETHER_JWT_PUBLIC_KEY: path.join(dir, 'missing.pem') })).toMatch(
      /cannot read TETHER_JWT_PUBLIC_KEY/,
    );
    expect(usageError({ TETHER_JWT_PUBLIC_KEY: privatePem })).toMatch(
      /TETHER_JWT_PUBLIC_KEY.*no '-----BEGIN PUBLIC KEY-----'/,
    );
    expect(usageError({ TETHER_JWT_PUBLIC_KEY: empty })).toMatch(/TETHER_JWT_PUBLIC_KEY/);
    expect(usageError({ TETHER_JWKS_URL: 'ftp://x/jwks' })).toMatch(/TETHER_JWKS_URL/);
    expect(usageError({ TETHER_JWT_MAX_LIFETIME: 'soon' })).toMatch(/TETHER_JWT_MAX_LIFETIME/);
  });

  it('--help lists the variables', () => {
    for (const name of [
      'TETHER_JWT_PUBLIC_KEY',
      'TETHER_JWKS_URL',
      'TETHER_JWT_ISSUER',
      'TETHER_JWT_AUDIENCE',
      'TETHER_JWT_MAX_LIFETIME',
    ]) {
      expect(serveHelp).toContain(name);
    }
  });

  it('the CLI verifies with the key file; the dev secret of secrets.json opens no second door', async () => {
    const proc = await startServerProcess({
      secrets: 'dev',
      env: { TETHER_JWT_PUBLIC_KEY: pemFile, TETHER_JWT_AUDIENCE: 'tether', TETHER_JWT_MAX_LIFETIME: '2h' },
    });
    try {
      const c = await connectClient(proc.url, await sign(ed, { sub: 'cli-user', aud: 'tether' }));
      expect(c.socket.connected).toBe(true);
      c.close();
      expect(await handshakeOutcome(proc.url, await sign(ec, { sub: 'cli-user', aud: 'other' }))).toBe('unauthorized');
      expect(
        await handshakeOutcome(
          proc.url,
          await sign(ec, { sub: 'cli-user', aud: 'tether', exp: Math.floor(Date.now() / 1000) + 3 * 3600 }),
        ),
      ).toBe('unauthorized');
      // A token signed with the dev secret (which the process still created for its API key): refused.
      expect(await handshakeOutcome(proc.url, await proc.token({ sub: 'cli-user' }))).toBe('unauthorized');
      expect(proc.stderr()).not.toMatch(/jwt secret:/);
    } finally {
      await proc.stop();
    }
  });
});
