/** The `push.fcm` / `push.webpush` file sections: what they accept, what they refuse, and the options they become. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { makeServiceAccount } from '@tether/testing';
import { pushFcmSection } from '../../src/config/sections/push-fcm.js';
import { pushWebPushSection } from '../../src/config/sections/push-webpush.js';
import { fcmProviderOptionsOf, webPushProviderOptionsOf } from '../../src/config/push-provider-options.js';
import { issueLines } from '../../src/config/issues.js';
import { ConfigError } from '../../src/cli/errors.js';
import { createFcmProvider } from '../../src/push/fcm.js';
import { createWebPushProvider } from '../../src/push/webpush.js';
import { resolvePushOptions } from '../../src/push/options.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-push-config-'));

function problems(schema: typeof pushFcmSection | typeof pushWebPushSection, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : issueLines(result.error.issues, schema);
}

describe('push.fcm section', () => {
  const { account } = makeServiceAccount();

  it('takes a key file or the JSON inline, and becomes provider options', () => {
    const file = join(dir, 'sa.json');
    writeFileSync(file, JSON.stringify(account));
    const fromFile = pushFcmSection.parse({ serviceAccountFile: file, timeoutMs: 5000 });
    expect(fcmProviderOptionsOf(fromFile)).toEqual({ serviceAccount: file, timeoutMs: 5000 });
    expect(createFcmProvider(fcmProviderOptionsOf(fromFile)).name).toBe('fcm');
    const inline = pushFcmSection.parse({ serviceAccount: account, endpoint: 'http://127.0.0.1:9/' });
    expect(createFcmProvider(fcmProviderOptionsOf(inline)).name).toBe('fcm');
  });

  it('refuses both or neither account, a bad URL, an unknown key', () => {
    expect(problems(pushFcmSection, { serviceAccountFile: 'a.json', serviceAccount: account })).toEqual([
      '(top level): set exactly one of serviceAccountFile and serviceAccount',
    ]);
    expect(problems(pushFcmSection, {})).toEqual([
      '(top level): set exactly one of serviceAccountFile and serviceAccount',
    ]);
    expect(problems(pushFcmSection, { serviceAccountFile: 'a.json', endpoint: 'fcm' })[0]).toMatch(/^endpoint: /);
    expect(problems(pushFcmSection, { serviceAccountFile: 'a.json', timeoutMS: 1 })).toEqual([
      'timeoutMS: unknown key (did you mean "timeoutMs"?)',
    ]);
    expect(problems(pushFcmSection, { serviceAccount: { project_id: 'p' } })).toContain(
      'serviceAccount.client_email: missing (expected a string)',
    );
  });
});

describe('a provider that cannot be built names its option', () => {
  const { account } = makeServiceAccount();
  const keys = webpush.generateVAPIDKeys();

  it('from the file: push.fcm.serviceAccountFile / serviceAccount and the fault, as a ConfigError', () => {
    const bad = join(dir, 'bad-key.json');
    writeFileSync(bad, JSON.stringify({ ...account, private_key: 'not a key' }));
    const fromFile = pushFcmSection.parse({ serviceAccountFile: bad });
    expect(() => fcmProviderOptionsOf(fromFile)).toThrow(ConfigError);
    expect(() => fcmProviderOptionsOf(fromFile)).toThrow(
      new RegExp(`^push\\.fcm\\.serviceAccountFile: ${bad}: private_key is not a PEM private key`),
    );
    const inline = pushFcmSection.parse({ serviceAccount: { ...account, private_key: 'not a key' } });
    expect(() => fcmProviderOptionsOf(inline)).toThrow(/^push\.fcm\.serviceAccount: private_key is not a PEM/);
  });

  it('from the library options: a TypeError starting push.fcm / push.webpush', () => {
    expect(() => resolvePushOptions({ fcm: { serviceAccount: join(dir, 'absent.json') } })).toThrow(
      /^push\.fcm: service account .*absent\.json: cannot read it/,
    );
    expect(() => resolvePushOptions({ fcm: { serviceAccount: account, endpoint: 'fcm.googleapis.com' } })).toThrow(
      /^push\.fcm: endpoint must be an http\(s\) URL/,
    );
    const base = { vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey, subject: 'mailto:a@b.example' };
    expect(() => resolvePushOptions({ webpush: { ...base, vapidPublicKey: 'c2hvcnQ' } })).toThrow(
      /^push\.webpush: .*public key/i,
    );
    expect(() => resolvePushOptions({ webpush: { ...base, ttlSeconds: -1 } })).toThrow(
      /^push\.webpush: ttlSeconds must be a whole number/,
    );
  });
});

describe('push.webpush section', () => {
  const keys = webpush.generateVAPIDKeys();
  const base = { vapidPublicKey: keys.publicKey, subject: 'mailto:ops@example.com' };

  it('reads the private key inline, from a file or from the environment', () => {
    const file = join(dir, 'vapid.key');
    writeFileSync(file, `${keys.privateKey}\n`);
    for (const vapidPrivateKey of [keys.privateKey, { file }, { env: 'TEST_VAPID_KEY' }]) {
      const section = pushWebPushSection.parse({ ...base, vapidPrivateKey, ttlSeconds: 60 });
      const options = webPushProviderOptionsOf(section, { TEST_VAPID_KEY: keys.privateKey });
      expect(options).toEqual({ ...base, vapidPrivateKey: keys.privateKey, ttlSeconds: 60 });
      expect(createWebPushProvider(options).name).toBe('webpush');
    }
  });

  it('a missing secret file or variable is a ConfigError naming the field', () => {
    const missing = pushWebPushSection.parse({ ...base, vapidPrivateKey: { file: join(dir, 'nope.key') } });
    expect(() => webPushProviderOptionsOf(missing, {})).toThrow(ConfigError);
    expect(() => webPushProviderOptionsOf(missing, {})).toThrow(
      /^push\.webpush\.vapidPrivateKey: cannot read .*nope\.key/,
    );
    const unset = pushWebPushSection.parse({ ...base, vapidPrivateKey: { env: 'NOT_SET_ANYWHERE' } });
    expect(() => webPushProviderOptionsOf(unset, {})).toThrow(
      'push.webpush.vapidPrivateKey: the environment variable NOT_SET_ANYWHERE is not set',
    );
  });

  it('refuses a subject that is no contact and a negative ttl', () => {
    expect(problems(pushWebPushSection, { ...base, vapidPrivateKey: 'k', subject: 'ops' })).toEqual([
      'subject: must be a mailto: or https: URL',
    ]);
    expect(problems(pushWebPushSection, { ...base, vapidPrivateKey: 'k', ttlSeconds: -1 })[0]).toMatch(/^ttlSeconds: /);
  });
});
