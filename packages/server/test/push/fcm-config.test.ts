/** A service account that cannot work is a clear `TypeError` when the provider is made, naming the file and the fault. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeServiceAccount } from '@tether/testing';
import { createFcmProvider } from '../../src/push/fcm.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-fcm-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('FCM service account', () => {
  const { account } = makeServiceAccount();

  it('is read from a file', () => {
    const path = file('ok.json', JSON.stringify(account));
    expect(createFcmProvider({ serviceAccount: path }).name).toBe('fcm');
  });

  it('a missing file, bad JSON, a missing field or a non-RSA key is a TypeError saying so', () => {
    const missing = join(dir, 'nope.json');
    expect(() => createFcmProvider({ serviceAccount: missing })).toThrow(
      new RegExp(`^fcm service account ${missing}: cannot read it: ENOENT`),
    );
    expect(() => createFcmProvider({ serviceAccount: file('bad.json', '{"project_id": ') })).toThrow(
      /bad\.json: not valid JSON/,
    );
    const { client_email: _dropped, ...noEmail } = account;
    expect(() => createFcmProvider({ serviceAccount: file('no-email.json', JSON.stringify(noEmail)) })).toThrow(
      /no-email\.json: client_email must be a non-empty string/,
    );
    expect(() => createFcmProvider({ serviceAccount: { ...account, private_key: 'not a key' } })).toThrow(
      /^fcm service account: private_key is not a PEM private key/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => createFcmProvider({ serviceAccount: { ...account, private_key: ec } })).toThrow(
      /must be an RSA key \(RS256\), got ec/,
    );
    expect(() => createFcmProvider({ serviceAccount: file('list.json', '[]') })).toThrow(/expected a JSON object/);
    expect(() => createFcmProvider({ serviceAccount: { ...account, type: 'authorized_user' } as never })).toThrow(
      /type is "authorized_user", expected "service_account"/,
    );
    expect(() => createFcmProvider({ serviceAccount: account, endpoint: 'fcm.googleapis.com' })).toThrow(
      /endpoint must be an http\(s\) URL/,
    );
    expect(() => createFcmProvider({ serviceAccount: account, timeoutMs: 0 })).toThrow(
      /timeoutMs must be a whole number > 0/,
    );
  });
});
