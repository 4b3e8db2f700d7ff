/**
 * The fake FCM is only worth something if it refuses what FCM refuses: assertions that do not
 * verify, requests without a valid token, bodies FCM would reject (non-string data, unknown
 * fields, a bad priority, over 4096 bytes), each with FCM's status and error JSON.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { startFakeFcm, type FakeFcm, type ServiceAccountJson } from '@tether/testing';

describe('fake FCM', () => {
  let fcm: FakeFcm;
  let account: ServiceAccountJson;
  beforeEach(async () => {
    fcm = await startFakeFcm();
    account = fcm.serviceAccount();
  });
  afterEach(async () => {
    await fcm.close();
  });

  async function assertion(claims: { aud?: string; lifetime?: number; scope?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: claims.scope ?? 'https://www.googleapis.com/auth/firebase.messaging' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(account.client_email)
      .setAudience(claims.aud ?? fcm.tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.lifetime ?? 3600))
      .sign(createPrivateKey(account.private_key));
  }

  async function token(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(fcm.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function send(
    accessToken: string,
    body: unknown,
  ): Promise<{ status: number; body: { error?: Record<string, unknown> } }> {
    const response = await fetch(`${fcm.url}/v1/projects/${account.project_id}/messages:send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { error?: Record<string, unknown> } };
  }

  const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

  it('issues a token for a good assertion and refuses a wrong grant, audience or lifetime', async () => {
    const ok = await token({ grant_type: grant, assertion: await assertion() });
    expect(ok).toMatchObject({ status: 200, body: { expires_in: 3599, token_type: 'Bearer' } });
    expect((await token({ grant_type: 'client_credentials', assertion: await assertion() })).body.error).toBe(
      'unsupported_grant_type',
    );
    expect(
      (await token({ grant_type: grant, assertion: await assertion({ aud: 'https://elsewhere/token' }) })).body.error,
    ).toBe('invalid_grant');
    const long = await token({ grant_type: grant, assertion: await assertion({ lifetime: 7200 }) });
    expect(long.body.error_description).toMatch(/short-lived token/);
  });

  it('refuses sends without a valid token (401), a token without the scope (403), and bodies FCM rejects (400)', async () => {
    const message = { token: 't1', data: { channel: 'c' } };
    const anonymous = await send('nope', { message });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });

    const unscoped = (
      await token({
        grant_type: grant,
        assertion: await assertion({ scope: 'https://www.googleapis.com/auth/cloud-platform' }),
      })
    ).body.access_token as string;
    expect((await send(unscoped, { message })).status).toBe(403);

    const accessToken = (await token({ grant_type: grant, assertion: await assertion() })).body.access_token as string;
    expect((await send(accessToken, { message })).status).toBe(200);
    for (const bad of [
      { message: { token: 't1', data: { offset: 42 } } },
      { message: { token: 't1', priority: 'high' } },
      { message: { token: 't1', android: { priority: 'urgent' } } },
      { message: { token: 't1', android: { ttl: 30 } } },
      { message: { data: { a: 'b' } } },
      { message: { token: 't1', data: { big: 'x'.repeat(5000) } } },
    ]) {
      const answer = await send(accessToken, bad);
      expect(answer.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    }
    expect(fcm.delivered).toHaveLength(1);
  });
});
