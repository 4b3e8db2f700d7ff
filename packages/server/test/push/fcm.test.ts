/**
 * The FCM HTTP v1 provider against a fake FCM that speaks the real protocol (OAuth2 JWT-bearer
 * token endpoint, `messages:send` with FCM's checks and error JSON): the request is what FCM
 * expects, the token is reused and refreshed, and FCM's answers become the dispatcher's outcomes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeServiceAccount, startFakeFcm, type FakeFcm } from '@tether/testing';
import { createFcmProvider } from '../../src/push/fcm.js';
import type { PushDevice, PushNotice, PushProvider } from '../../src/push/provider.js';
import { pushNotice } from './notice.js';

const DEVICE_TOKEN = 'fcm-registration-token-AAAA:APA91b';

function notice(overrides: Partial<PushNotice> = {}): PushNotice {
  return pushNotice({ data: { tripId: 'T2', pickup: 'Main St' }, priority: 'high', ...overrides });
}

function device(token = DEVICE_TOKEN): PushDevice {
  return { tenant: 'acme', sub: 'driver-7', deviceId: 'phone', provider: 'fcm', token };
}

describe('FCM HTTP v1 provider', () => {
  let fcm: FakeFcm;
  let clock: number;
  let provider: PushProvider;

  beforeEach(async () => {
    clock = Date.now();
    fcm = await startFakeFcm({ now: () => clock });
    provider = createFcmProvider({ serviceAccount: fcm.serviceAccount(), endpoint: fcm.url, now: () => clock });
  });
  afterEach(async () => {
    await provider.close?.();
    await fcm.close();
  });

  it('gets a token with a signed JWT-bearer assertion and sends the v1 message FCM expects', async () => {
    const account = fcm.serviceAccount();
    provider = createFcmProvider({ serviceAccount: account, endpoint: fcm.url, now: () => clock });
    expect(await provider.send(notice({ collapseKey: 'trip-T2' }), device())).toEqual({ result: 'sent' });

    expect(fcm.tokenRequests).toHaveLength(1);
    const tokenRequest = fcm.tokenRequests[0]!;
    expect(tokenRequest.grantType).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(tokenRequest.header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: account.private_key_id });
    expect(tokenRequest.claims).toMatchObject({
      iss: account.client_email,
      aud: fcm.tokenUri,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
    });
    expect(tokenRequest.outcome).toHaveProperty('accessToken');

    expect(fcm.sendRequests).toHaveLength(1);
    const request = fcm.sendRequests[0]!;
    expect(request.path).toBe(`/v1/projects/${account.project_id}/messages:send`);
    expect(request.headers.authorization).toBe(
      `Bearer ${(tokenRequest.outcome as { accessToken: string }).accessToken}`,
    );
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.status).toBe(200);
    expect(request.body).toEqual({
      message: {
        token: DEVICE_TOKEN,
        data: {
          id: 'm-42',
          channel: 'driver:7',
          epoch: 'e1',
          offset: '42',
          type: 'trip:requested',
          data: JSON.stringify({ tripId: 'T2', pickup: 'Main St' }),
        },
        android: { priority: 'high', collapse_key: 'trip-T2' },
        apns: {
          headers: { 'apns-priority': '5', 'apns-push-type': 'background', 'apns-collapse-id': 'trip-T2' },
          payload: { aps: { 'content-available': 1 } },
        },
      },
    });
    expect(fcm.delivered).toHaveLength(1);
  });

  it('the tokenUri and projectId options win over the service account’s', async () => {
    // An account as downloaded: its token_uri is Google's, which the test never reaches.
    const made = makeServiceAccount({ projectId: 'other-project' });
    fcm.trust(made);
    expect(made.account.token_uri).toBe('https://oauth2.googleapis.com/token');
    provider = createFcmProvider({
      serviceAccount: made.account,
      endpoint: fcm.url,
      tokenUri: fcm.tokenUri,
      projectId: 'other-project',
      now: () => clock,
    });
    expect(await provider.send(notice(), device())).toEqual({ result: 'sent' });
    expect(fcm.sendRequests[0]!.path).toBe('/v1/projects/other-project/messages:send');
    // A project the account has no rights on: FCM's 403 PERMISSION_DENIED, for good.
    provider = createFcmProvider({
      serviceAccount: made.account,
      endpoint: fcm.url,
      tokenUri: fcm.tokenUri,
      projectId: 'tether-test',
      now: () => clock,
    });
    expect(await provider.send(notice(), device())).toMatchObject({
      result: 'failed',
      error: expect.stringContaining('PERMISSION_DENIED'),
    });
  });

  it('a visible notification is sent at APNs priority 10 when high; normal maps to FCM normal', async () => {
    provider = createFcmProvider({
      serviceAccount: fcm.serviceAccount(),
      endpoint: fcm.url,
      now: () => clock,
      notification: (n) => ({ title: 'New trip', body: n.type }),
    });
    await provider.send(notice(), device());
    await provider.send(notice({ priority: 'normal', expiresAt: clock + 30_500 }), device());
    const [high, normal] = fcm.delivered as Array<Record<string, Record<string, unknown>>>;
    expect(high!.notification).toEqual({ title: 'New trip', body: 'trip:requested' });
    expect(high!.apns).toMatchObject({ headers: { 'apns-priority': '10', 'apns-push-type': 'alert' } });
    expect(normal!.android).toEqual({ priority: 'normal', ttl: '30s' });
    expect(normal!.apns).toMatchObject({
      headers: { 'apns-priority': '5', 'apns-expiration': String(Math.floor((clock + 30_500) / 1000)) },
    });
  });

  it('reuses the token until shortly before it expires, then gets a new one', async () => {
    await provider.send(notice(), device());
    await provider.send(notice({ id: 'm-43', offset: 43 }), device());
    expect(fcm.tokenRequests).toHaveLength(1);
    // 3599 s tokens: 50 minutes on, more than 5 minutes are left, the token still serves.
    clock += 50 * 60_000;
    await provider.send(notice({ id: 'm-44', offset: 44 }), device());
    expect(fcm.tokenRequests).toHaveLength(1);
    // 56 minutes on, under 5 minutes are left: a new assertion and a new token.
    clock += 6 * 60_000;
    expect(await provider.send(notice({ id: 'm-45', offset: 45 }), device())).toEqual({ result: 'sent' });
    expect(fcm.tokenRequests).toHaveLength(2);
    const tokens = fcm.sendRequests.map((r) => r.headers.authorization);
    expect(new Set(tokens.slice(0, 3)).size).toBe(1);
    expect(tokens[3]).not.toBe(tokens[0]);
  });

  it('concurrent sends share one token request', async () => {
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((n) => provider.send(notice({ id: `m-${n}`, offset: n }), device())),
    );
    expect(outcomes.every((o) => o.result === 'sent')).toBe(true);
    expect(fcm.tokenRequests).toHaveLength(1);
  });

  it('a 401 (token revoked) gets one new token and the send goes through', async () => {
    await provider.send(notice(), device());
    fcm.revokeAccessTokens();
    expect(await provider.send(notice({ id: 'm-43', offset: 43 }), device())).toEqual({ result: 'sent' });
    expect(fcm.tokenRequests).toHaveLength(2);
    expect(fcm.sendRequests.map((r) => r.status)).toEqual([200, 401, 200]);
  });

  it('UNREGISTERED (404) says the token is gone', async () => {
    fcm.unregister(DEVICE_TOKEN);
    const outcome = await provider.send(notice(), device());
    expect(outcome).toMatchObject({ result: 'gone' });
    expect((outcome as { error: string }).error).toContain('UNREGISTERED');
    expect(fcm.delivered).toHaveLength(0);
  });

  it('503 with Retry-After is a retry after that long; 429 and 500 too, without a header no delay', async () => {
    fcm.failNext(DEVICE_TOKEN, { status: 503, retryAfter: '7' });
    expect(await provider.send(notice(), device())).toMatchObject({ result: 'retry', afterMs: 7000 });
    const date = new Date(clock + 12_000).toUTCString();
    fcm.failNext(DEVICE_TOKEN, { status: 429, retryAfter: date });
    const limited = await provider.send(notice(), device());
    expect(limited).toMatchObject({ result: 'retry' });
    // An HTTP date has whole seconds: 11–12 s from now.
    expect((limited as { afterMs: number }).afterMs).toBeGreaterThan(11_000);
    expect((limited as { afterMs: number }).afterMs).toBeLessThanOrEqual(12_000);
    fcm.failNext(DEVICE_TOKEN, { status: 500 });
    expect(await provider.send(notice(), device())).toMatchObject({ result: 'retry', afterMs: undefined });
    // The next attempt (the dispatcher's retry) goes through.
    expect(await provider.send(notice(), device())).toEqual({ result: 'sent' });
  });

  it('400 INVALID_ARGUMENT fails for good, with FCM’s reason', async () => {
    fcm.failNext(DEVICE_TOKEN, { status: 400 });
    const outcome = await provider.send(notice(), device());
    expect(outcome).toMatchObject({ result: 'failed' });
    expect((outcome as { error: string }).error).toContain('INVALID_ARGUMENT');
  });

  it('keeps the request within 4096 bytes with big data: the data goes, the position stays', async () => {
    const big = { text: 'x'.repeat(10_000) };
    expect(await provider.send(notice({ data: big }), device())).toEqual({ result: 'sent' });
    const request = fcm.sendRequests[0]!;
    expect(Buffer.byteLength(JSON.stringify(request.body))).toBeLessThanOrEqual(4096);
    expect((request.body as { message: { data: Record<string, string> } }).message.data).toEqual({
      id: 'm-42',
      channel: 'driver:7',
      epoch: 'e1',
      offset: '42',
      type: 'trip:requested',
      dataOmitted: '1',
    });
    // Data just under the limit still travels.
    expect(await provider.send(notice({ data: { text: 'y'.repeat(3000) } }), device())).toEqual({ result: 'sent' });
    const second = fcm.sendRequests[1]!.body as { message: { data: Record<string, string> } };
    expect(JSON.parse(second.message.data.data!)).toEqual({ text: 'y'.repeat(3000) });
  });

  it('a collapse key FCM or APNs would refuse (NUL, too long) is sent hashed, the same key the same hash', async () => {
    await provider.send(notice({ collapseKey: 'trip:requested\u0000T2' }), device());
    await provider.send(notice({ collapseKey: 'trip:requested\u0000T2' }), device());
    await provider.send(notice({ collapseKey: 'trip:requested\u0000T3' }), device());
    const keys = fcm.delivered.map((m) => (m.android as { collapse_key: string }).collapse_key);
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('an expired message is not sent; a device-less call fails', async () => {
    expect(await provider.send(notice({ expiresAt: clock - 1 }), device())).toMatchObject({ result: 'failed' });
    expect(await provider.send(notice(), undefined)).toMatchObject({ result: 'failed' });
    expect(fcm.sendRequests).toHaveLength(0);
  });

  it('a token endpoint that refuses the assertion fails the send, saying why', async () => {
    // The account's email with another key: the signature does not verify with the account's public key.
    const forged = { ...fcm.serviceAccount(), private_key: makeServiceAccount().account.private_key };
    provider = createFcmProvider({ serviceAccount: forged, endpoint: fcm.url, now: () => clock });
    const outcome = await provider.send(notice(), device());
    expect(outcome).toMatchObject({ result: 'failed' });
    expect((outcome as { error: string }).error).toBe('fcm token: 400 invalid_grant: Invalid JWT Signature.');
    // An account it never heard of.
    const stranger = makeServiceAccount({ tokenUri: fcm.tokenUri }).account;
    provider = createFcmProvider({ serviceAccount: stranger, endpoint: fcm.url, now: () => clock });
    expect(await provider.send(notice(), device())).toMatchObject({
      result: 'failed',
      error: expect.stringContaining('invalid_grant'),
    });
    expect(fcm.sendRequests).toHaveLength(0);
  });

  it('an unreachable FCM is a retry', async () => {
    const account = fcm.serviceAccount();
    const url = fcm.url;
    await fcm.close();
    provider = createFcmProvider({ serviceAccount: account, endpoint: url, timeoutMs: 2000, now: () => clock });
    expect(await provider.send(notice(), device())).toMatchObject({ result: 'retry', afterMs: undefined });
    fcm = await startFakeFcm();
  });
});

describe('FCM assertion', () => {
  it('is a one-hour RS256 JWT issued now', async () => {
    const clock = Date.now();
    const fcm = await startFakeFcm({ now: () => clock });
    try {
      const provider = createFcmProvider({ serviceAccount: fcm.serviceAccount(), endpoint: fcm.url, now: () => clock });
      await provider.send(notice(), device());
      const claims = fcm.tokenRequests[0]!.claims as { iat: number; exp: number };
      expect(claims.iat).toBe(Math.floor(clock / 1000));
      expect(claims.exp - claims.iat).toBe(3600);
    } finally {
      await fcm.close();
    }
  });
});
