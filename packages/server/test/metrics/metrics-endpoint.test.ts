/**
 * `GET /metrics` (docs/operations.md, "Monitoring"): the admin key on the server's own port or a
 * port of its own, promtool accepts the exposition, the delivery counters and latencies move with
 * real traffic, labels stay bounded, and metrics can be turned off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, startServer, waitUntil, type TestClient, type TestServer } from '@tether/testing';
import type { StartServerOptions } from '@tether/testing';
import { ADMIN_KEY, familyNames, promtoolCheck, sampleValue, scrape } from './helpers.js';

const open: { clients: TestClient[]; servers: TestServer[] } = { clients: [], servers: [] };

afterEach(async () => {
  for (const c of open.clients.splice(0)) c.close();
  for (const s of open.servers.splice(0)) await s.close();
});

async function start(options: StartServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ adminKeys: [ADMIN_KEY], ...options });
  open.servers.push(server);
  return server;
}

/** One device subscribed to `channel`, reading `count` messages and acking the last. */
async function publishAndAck(server: TestServer, channel: string, count: number): Promise<void> {
  const client = await connectClient(server.url, await server.token({ sub: 'u1', channels: ['*'] }));
  open.clients.push(client);
  expect(await client.sub(channel)).toMatchObject({ offset: 0 });
  await server.server.publishMany(Array.from({ length: count }, (_, i) => ({ channel, type: 'note', data: { i } })));
  await client.messages.waitForCount(count, { channel });
  client.ack({ [channel]: count });
  await waitUntil(() => server.server.stats().acked >= count || undefined);
}

describe('GET /metrics on the server port', () => {
  it('answers the admin key with an exposition promtool accepts, counting what was published and acked', async () => {
    const server = await start();
    await publishAndAck(server, 'chat:room-1', 5);
    const { status, text } = await scrape(`${server.url}/metrics`);
    expect(status).toBe(200);
    const check = promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    expect(sampleValue(text, 'tether_published_total{namespace="chat"}')).toBe(5);
    expect(sampleValue(text, 'tether_delivered_total{path="live"}')).toBe(5);
    expect(sampleValue(text, 'tether_acked_total')).toBe(5);
    expect(sampleValue(text, 'tether_connections')).toBe(1);
    expect(sampleValue(text, 'tether_subscriptions')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(text, 'tether_publish_to_ack_seconds_count')).toBe(5);
    expect(sampleValue(text, 'tether_publish_to_send_seconds_count')).toBe(5);
    expect(sampleValue(text, 'tether_store_operation_seconds_count{op="append",engine="memory"}')).toBeGreaterThan(0);
    expect(familyNames(text)).toContain('process_cpu_user_seconds_total');
  });

  it('refuses a missing or wrong key with unauthorized, and refuses every key when none is configured', async () => {
    const server = await start();
    const missing = await scrape(`${server.url}/metrics`, null);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.text)).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await scrape(`${server.url}/metrics`, 'not-the-admin-key-at-all');
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('tether_');
    // The publish API key is not an admin key.
    expect((await scrape(`${server.url}/metrics`, server.apiKey)).status).toBe(401);

    const noAdmin = await start({ adminKeys: [] });
    expect((await scrape(`${noAdmin.url}/metrics`, ADMIN_KEY)).status).toBe(401);
  });

  it('serves another path when configured, and nothing at /metrics then', async () => {
    const server = await start({ metrics: { path: '/internal/prom' } });
    expect((await scrape(`${server.url}/internal/prom`)).text).toContain('tether_published_total');
    expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
  });

  it("leaves out Node's process metrics with nodeMetrics: false", async () => {
    const server = await start({ metrics: { nodeMetrics: false } });
    const { text } = await scrape(`${server.url}/metrics`);
    expect(familyNames(text)).toContain('tether_acked_total');
    expect(familyNames(text).filter((name) => !name.startsWith('tether_'))).toEqual([]);
  });

  it('is 404 and observes nothing when metrics are off', async () => {
    const server = await start({ metrics: { enabled: false } });
    await publishAndAck(server, 'chat:room-1', 2);
    const { status, text } = await scrape(`${server.url}/metrics`);
    expect(status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'not_found' } });
    expect(server.server.metrics).toBeUndefined();
  });

  it('refuses nonsense options with a TypeError naming them', async () => {
    await expect(start({ metrics: { path: 'metrics' } })).rejects.toThrow(/metrics.path/);
    await expect(start({ metrics: { port: 70_000 } })).rejects.toThrow(/metrics.port/);
    await expect(start({ metrics: { maxNamespaces: 0 } })).rejects.toThrow(/metrics.maxNamespaces/);
    await expect(start({ adminKeys: ['short'] })).rejects.toThrow(/adminKeys/);
  });
});

describe('GET /metrics on its own port', () => {
  it('answers without a key there, and the server port does not serve it', async () => {
    const server = await start({ metrics: { port: 0 } });
    const url = server.server.metrics?.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toContain(`:${server.port}/`);
    await publishAndAck(server, 'feed:1', 3);
    const { status, text } = await scrape(url!, null);
    expect(status).toBe(200);
    expect(sampleValue(text, 'tether_acked_total')).toBe(3);
    expect(promtoolCheck(text).status).toBe(0);
    expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
    expect((await scrape(url!.replace('/metrics', '/other'), null)).status).toBe(404);
  });

  it('two servers in one process keep their own figures', async () => {
    const a = await start({ metrics: { port: 0 } });
    const b = await start({ metrics: { port: 0 } });
    await publishAndAck(a, 'feed:1', 4);
    expect(sampleValue((await scrape(a.server.metrics!.url!, null)).text, 'tether_acked_total')).toBe(4);
    expect(sampleValue((await scrape(b.server.metrics!.url!, null)).text, 'tether_acked_total')).toBe(0);
  });
});

describe('counts by reason', () => {
  it('resyncs by reason (ahead, epoch, retention) and auth failures by reason (unauthorized, token_expired)', async () => {
    const past = 1_000_000_000_000;
    const server = await start({ retention: { maxMessages: 2 } });
    for (const channel of ['feed:a', 'feed:b', 'feed:c'])
      await server.server.publishMany(Array.from({ length: 5 }, (_, i) => ({ channel, type: 'note', data: { i } })));
    const client = await connectClient(server.url, await server.token({ sub: 'u1', channels: ['*'] }));
    open.clients.push(client);
    const { epoch } = await server.server.publish({ channel: 'feed:d', type: 'note', data: {} });
    expect(await client.sub('feed:a', { epoch, offset: 1 })).toMatchObject({ offset: expect.any(Number) }); // another epoch
    const head = (await client.sub('feed:d')) as { epoch: string };
    expect(await client.unsub('feed:d')).toEqual({});
    expect(await client.sub('feed:d', { epoch: head.epoch, offset: 99 })).toBeDefined(); // past the head
    const b = (await client.sub('feed:b')) as { epoch: string };
    expect(await client.unsub('feed:b')).toEqual({});
    expect(await client.sub('feed:b', { epoch: b.epoch, offset: 1 })).toBeDefined(); // 2..3 gone: retention kept 4..5
    await waitUntil(() => (server.server.stats().resyncs >= 3 ? true : undefined));

    const poll = (token: string): Promise<Response> =>
      fetch(`${server.url}/v1/poll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ positions: {}, wait: 0 }),
      });
    expect((await poll('not-a-token')).status).toBe(401);
    const expired = await server.token({ sub: 'u2', ttlSeconds: 60, now: () => past });
    expect((await poll(expired)).status).toBe(401);

    const { text } = await scrape(`${server.url}/metrics`);
    expect(sampleValue(text, 'tether_resyncs_total{reason="epoch"}')).toBe(1);
    expect(sampleValue(text, 'tether_resyncs_total{reason="ahead"}')).toBe(1);
    expect(sampleValue(text, 'tether_resyncs_total{reason="retention"}')).toBe(1);
    expect(sampleValue(text, 'tether_auth_failures_total{reason="unauthorized"}')).toBe(1);
    expect(sampleValue(text, 'tether_auth_failures_total{reason="token_expired"}')).toBe(1);
    expect(sampleValue(text, 'tether_rate_limited_total{layer="connection_attempts"}')).toBe(0);
  });
});

describe('bounded labels', () => {
  it('1000 distinct channels: no channel in the output, namespaces capped with `other`', async () => {
    const server = await start({ metrics: { maxNamespaces: 10 } });
    const inputs = Array.from({ length: 1000 }, (_, i) => ({
      // 20 namespaces, 50 channels each, and some channels with no namespace at all.
      channel: i % 4 === 0 ? `lonely-${i}` : `ns${i % 20}:user-${i}`,
      type: 'note',
      data: { i },
    }));
    await server.server.publishMany(inputs);
    const { text } = await scrape(`${server.url}/metrics`);
    expect(text).not.toMatch(/user-\d+/);
    expect(text).not.toMatch(/lonely-\d+/);
    const namespaces = [...text.matchAll(/^tether_published_total\{namespace="([^"]+)"\} (\d+)$/gm)];
    expect(namespaces.length).toBeLessThanOrEqual(11);
    expect(namespaces.map((m) => m[1])).toContain('other');
    expect(namespaces.map((m) => m[1])).toContain('none');
    expect(namespaces.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(1000);
  });
});

describe('delivery summary', () => {
  it('reports publish→ack quantiles and the acked-within ratio from the same observations', async () => {
    const server = await start();
    expect(server.server.metrics?.summary()).toMatchObject({
      publishToAckMs: { count: 0, p50: null },
      ackedWithin: { windowMs: 10_000, delivered: 0, acked: 0, ratio: null },
    });
    await publishAndAck(server, 'chat:a', 4);
    const summary = server.server.metrics!.summary();
    expect(summary.publishToAckMs.count).toBe(4);
    expect(summary.publishToAckMs.p99).toBeGreaterThanOrEqual(0);
    expect(summary.publishToSendMs.count).toBe(4);
    expect(summary.ackedWithin).toMatchObject({ delivered: 4, acked: 4, ratio: 1 });
  });
});
