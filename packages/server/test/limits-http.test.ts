/**
 * The HTTP API's limits: publishes per API key (`httpPublishesPerSecondPerApiKey`) and requests
 * per user token (`httpRequestsPerMinutePerUser`). A refusal is a 429 with `Retry-After` and
 * `retryAfterMs`, counted, and changes nothing; other refusals keep their own codes. The socket
 * side's limits are in limits.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, type StartServerOptions, type TestServer } from '@tether/testing';

const bed = new TestBed();
afterEach(() => bed.close());

function server(options: StartServerOptions): Promise<TestServer> {
  return bed.start(options);
}

describe('HTTP publishes per API key', () => {
  it('answers 429 with Retry-After and retryAfterMs over the limit, and stores nothing of it', async () => {
    const srv = await server({ limits: { httpPublishesPerSecondPerApiKey: 3 } });
    const publish = (i: number) =>
      fetch(`${srv.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'room:h', type: 't', data: i }),
      });
    const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => publish(i)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = responses.find((r) => r.status === 429)!;
    expect(limited.headers.get('retry-after')).toBe('1');
    const body = (await limited.json()) as { error: { code: string; retryAfterMs: number } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.retryAfterMs).toBeGreaterThan(0);
    expect(body.error.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(srv.server.stats().published).toBe(3);
    expect(srv.server.stats().rateLimited.httpPublishes).toBe(2);
  });
});

describe('HTTP publishes per API key, refusals of another kind', () => {
  it('with the limit on, a bad body, a foreign tenant and an unknown key keep their own codes and append nothing', async () => {
    const tenantKey = 'tk_limits_tenant_a_0123456789';
    const srv = await server({
      limits: { httpPublishesPerSecondPerApiKey: 100 },
      apiKeys: [{ key: tenantKey, tenant: 'A' }],
    });
    const publish = async (key: string, body: unknown) => {
      const res = await fetch(`${srv.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error?: { code: string }; offset?: number } };
    };
    const bad = await publish(tenantKey, { channel: 'room:h', type: 't' }); // no `data`
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    const foreign = await publish(tenantKey, { channel: 'room:h', type: 't', data: 1, tenant: 'B' });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const unknown = await publish('tk_nobody_0123456789', { channel: 'room:h', type: 't', data: 1 });
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(srv.server.stats().published).toBe(0);

    const ok = await publish(tenantKey, { channel: 'room:h', type: 't', data: 1 });
    expect(ok).toMatchObject({ status: 200, body: { offset: 1 } });
    expect(srv.server.stats().published).toBe(1);
    expect(srv.server.stats().rateLimited.httpPublishes).toBe(0);
  });
});

describe('HTTP requests per user', () => {
  it('answers 429 over the budget on every user-token route, counts it, and acks nothing refused', async () => {
    const srv = await server({ limits: { httpRequestsPerMinutePerUser: 3 } });
    const token = await srv.token({ sub: 'poller', channels: ['room:*'] });
    const call = (path: string, body?: unknown) =>
      fetch(`${srv.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    await srv.server.publish({ channel: 'room:p', type: 't', data: 1 });
    const first = await Promise.all([
      call('/v1/poll', { positions: { 'room:p': null } }),
      call('/v1/history?channel=room:p'),
      call('/v1/ack', { acks: { 'room:p': 1 } }),
    ]);
    expect(first.map((r) => r.status)).toEqual([200, 200, 200]);
    const over = await Promise.all([
      call('/v1/poll', { positions: { 'room:p': null } }),
      call('/v1/history?channel=room:p'),
      call('/v1/push/devices', { provider: 'webhook', token: 't' }),
    ]);
    expect(over.map((r) => r.status)).toEqual([429, 429, 429]);
    const body = (await over[0]!.json()) as { error: { code: string; retryAfterMs: number } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.retryAfterMs).toBeGreaterThan(0);
    expect(Number(over[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(srv.server.stats().rateLimited.httpRequests).toBe(3);
    // Another user has a budget of its own.
    const other = await srv.token({ sub: 'other', channels: ['room:*'] });
    const res = await fetch(`${srv.url}/v1/history?channel=room:p`, { headers: { authorization: `Bearer ${other}` } });
    expect(res.status).toBe(200);
  });
});
