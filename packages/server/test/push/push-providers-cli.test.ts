/**
 * `push.fcm` and `push.webpush` from a configuration file, as an operator uses them with the built
 * CLI (child processes; needs `npm run build`): `tether check-config` accepts a good file and exits 2
 * with one line naming the field for a bad one, and `tether serve --config` pushes a critical event
 * for an offline user to a fake FCM and a Web Push service that decrypts it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import {
  cliPath,
  makeServiceAccount,
  startFakeFcm,
  startServerProcess,
  startWebPushReceiver,
  waitUntil,
} from '@tether/testing';

const run = promisify(execFile);
const VAPID_ENV = 'PUSH_E2E_VAPID_PRIVATE_KEY';
const vapid = webpush.generateVAPIDKeys();

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function tether(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TETHER_') && key !== VAPID_ENV),
  );
  try {
    const { stdout, stderr } = await run(process.execPath, [cliPath, ...args], {
      cwd: dir,
      env: { ...base, ...env },
      timeout: 8000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tether-push-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: unknown): Promise<string> {
  const where = path.join(dir, name);
  await writeFile(where, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
  return where;
}

function pushConfig(serviceAccountFile: string, webpushOverrides: object = {}): object {
  return {
    push: {
      fcm: { serviceAccountFile, timeoutMs: 5000 },
      webpush: {
        vapidPublicKey: vapid.publicKey,
        vapidPrivateKey: { env: VAPID_ENV },
        subject: 'mailto:ops@example.com',
        ...webpushOverrides,
      },
    },
  };
}

describe('tether check-config with push.fcm and push.webpush', () => {
  it('accepts a service-account file and a VAPID key from the environment', async () => {
    const account = await file('account.json', makeServiceAccount().account);
    const config = await file('good.json', pushConfig(account));
    expect(await tether(['check-config', config], { [VAPID_ENV]: vapid.privateKey })).toEqual({
      code: 0,
      stdout: `config ${config}: ok\n`,
      stderr: '',
    });
    // The same file where the variable is not set: exit 2, the field named.
    expect(await tether(['check-config', config])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tether: push.webpush.vapidPrivateKey: the environment variable ${VAPID_ENV} is not set\n`,
    });
  });

  it('a bad service-account file exits 2 with one line naming push.fcm.serviceAccountFile and the fault', async () => {
    const env = { [VAPID_ENV]: vapid.privateKey };
    const { account } = makeServiceAccount();
    const cases: [string, string, RegExp][] = [
      [
        'not-pem.json',
        JSON.stringify({ ...account, private_key: 'not a key' }),
        /private_key is not a PEM private key/,
      ],
      ['no-email.json', JSON.stringify({ ...account, client_email: '' }), /client_email must be a non-empty string/],
      ['broken.json', '{"project_id": ', /not valid JSON/],
    ];
    for (const [name, text, fault] of cases) {
      const accountFile = await file(name, text);
      const result = await tether(['check-config', await file(`config-${name}`, pushConfig(accountFile))], env);
      expect(result.code, name).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, name).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^tether: push\\.fcm\\.serviceAccountFile: ${accountFile}: `));
      expect(lines[0]).toMatch(fault);
    }
    const missing = path.join(dir, 'nope.json');
    const result = await tether(['check-config', await file('config-missing.json', pushConfig(missing))], env);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(
      new RegExp(`^tether: push\\.fcm\\.serviceAccountFile: ${missing}: cannot read it: ENOENT`),
    );
  });

  it('a bad VAPID public key or both service-account forms exit 2 naming the field', async () => {
    const env = { [VAPID_ENV]: vapid.privateKey };
    const accountFile = await file('account2.json', makeServiceAccount().account);
    const badKey = await tether(
      ['check-config', await file('bad-vapid.json', pushConfig(accountFile, { vapidPublicKey: 'c2hvcnQ' }))],
      env,
    );
    expect(badKey).toMatchObject({ code: 2, stdout: '' });
    expect(badKey.stderr).toMatch(/^tether: config .*bad-vapid\.json: push\.webpush: .*public key/i);
    const both = await file('both.json', {
      push: { fcm: { serviceAccountFile: accountFile, serviceAccount: makeServiceAccount().account } },
    });
    const twice = await tether(['check-config', both]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/push\.fcm.*set exactly one of serviceAccountFile and serviceAccount/);
  });
});

describe('tether serve --config with push.fcm and push.webpush', () => {
  it('pushes a critical event for an offline user to FCM and to Web Push, as the file says', async () => {
    const fcm = await startFakeFcm();
    const receiver = await startWebPushReceiver();
    const config = pushConfig(await file('served-account.json', fcm.serviceAccount())) as {
      push: { fcm: object; webpush: object };
    };
    // The fake FCM's API; its token endpoint is the account's token_uri.
    config.push.fcm = { ...config.push.fcm, endpoint: fcm.url };
    let server: Awaited<ReturnType<typeof startServerProcess>> | undefined;
    try {
      server = await startServerProcess({
        config,
        env: {
          [VAPID_ENV]: vapid.privateKey,
          // The child trusts the Web Push service's self-signed certificate as it would a private CA.
          NODE_EXTRA_CA_CERTS: await file('push-ca.pem', receiver.ca),
        },
      });
      const userToken = await server.token('driver-9');
      const subscription = receiver.subscribe({ applicationServerKey: vapid.publicKey });
      for (const target of [
        { provider: 'fcm', token: 'fcm-token-served', deviceId: 'phone' },
        { provider: 'webpush', token: JSON.stringify(subscription), deviceId: 'browser' },
      ]) {
        const response = await fetch(`${server.url}/v1/push/devices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(target),
        });
        expect(await response.json()).toEqual({
          registered: { provider: target.provider, deviceId: target.deviceId },
          evicted: 0,
        });
      }
      const published = await fetch(`${server.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          channel: 'user:driver-9',
          type: 'trip:requested',
          data: { tripId: 'T9' },
          id: 'offer-T9',
          critical: true,
          priority: 'high',
        }),
      });
      expect(published.status).toBe(200);
      const { epoch, offset } = (await published.json()) as { epoch: string; offset: number };
      await waitUntil(
        () => (fcm.delivered.length === 1 && receiver.received.length === 1 ? true : undefined),
        8000,
        'one push each',
      ).catch(() => {
        const counts = `fcm ${fcm.sendRequests.length}, webpush ${receiver.received.length}`;
        throw new Error(`never one push each (${counts}); the server said: ${server?.output() ?? ''}`);
      });
      expect(fcm.delivered[0]).toMatchObject({
        token: 'fcm-token-served',
        data: { id: 'offer-T9', channel: 'user:driver-9', epoch, offset: String(offset), type: 'trip:requested' },
        android: { priority: 'high' },
      });
      expect(receiver.received[0]).toMatchObject({ endpoint: subscription.endpoint, urgency: 'high' });
      expect(JSON.parse(receiver.received[0]!.payload)).toMatchObject({ id: 'offer-T9', epoch, offset });
    } finally {
      if (server) expect(await server.stop()).toBe(0);
      await Promise.all([fcm.close(), receiver.close()]);
    }
  });
});
