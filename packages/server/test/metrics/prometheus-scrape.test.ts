/**
 * A real Prometheus (/usr/bin/prometheus, packages/testing's launcher) scrapes a test server every
 * second with the admin key; PromQL over its HTTP API answers the acked rate and a publish→ack
 * quantile from the traffic of real clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  startPrometheus,
  startServer,
  waitUntil,
  type PrometheusServer,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import { ADMIN_KEY } from './helpers.js';

const CHANNEL = 'chat:room-1';
const open: { clients: TestClient[]; servers: TestServer[]; prometheus: PrometheusServer[] } = {
  clients: [],
  servers: [],
  prometheus: [],
};

afterEach(async () => {
  for (const c of open.clients.splice(0)) c.close();
  for (const p of open.prometheus.splice(0)) await p.stop();
  for (const s of open.servers.splice(0)) await s.close();
});

describe('a real Prometheus scraping /metrics', () => {
  it('answers rate(tether_acked_total) and histogram_quantile over tether_publish_to_ack_seconds', async () => {
    const server = await startServer({ adminKeys: [ADMIN_KEY] });
    open.servers.push(server);
    const prometheus = await startPrometheus({
      target: { address: `127.0.0.1:${server.port}`, bearerToken: ADMIN_KEY },
    });
    open.prometheus.push(prometheus);
    await waitUntil(
      async () => ((await prometheus.targetHealth())?.health === 'up' ? true : undefined),
      30_000,
      'target up',
      200,
    );

    const token = await server.token({ sub: 'u1', channels: [CHANNEL] });
    const clients = await Promise.all(
      ['phone', 'laptop'].map((deviceId) => connectClient(server.url, token, { deviceId })),
    );
    open.clients.push(...clients);
    for (const c of clients) expect(await c.sub(CHANNEL)).toMatchObject({ offset: 0 });

    // Publish and ack in rounds over a few scrapes, so that the rate has samples to work on.
    let published = 0;
    const round = async (): Promise<void> => {
      await server.server.publishMany(
        Array.from({ length: 10 }, (_, i) => ({ channel: CHANNEL, type: 'note', data: { i } })),
      );
      published += 10;
      for (const c of clients) {
        await c.messages.waitForCount(published, { channel: CHANNEL });
        c.ack({ [CHANNEL]: published });
      }
    };
    const rate = await waitUntil(
      async () => {
        await round();
        const result = await prometheus.query('sum(rate(tether_acked_total[10s]))');
        const value = result[0]?.value;
        return value !== undefined && value > 0 ? value : undefined;
      },
      60_000,
      'a positive acked rate',
      500,
    );
    expect(rate).toBeGreaterThan(0);

    const p99 = await waitUntil(
      async () => {
        const result = await prometheus.query(
          'histogram_quantile(0.99, sum by (le) (rate(tether_publish_to_ack_seconds_bucket[10s])))',
        );
        const value = result[0]?.value;
        return value !== undefined && Number.isFinite(value) ? value : undefined;
      },
      30_000,
      'a publish→ack p99',
      500,
    );
    // Acks follow the sends within the test's own waits: well under the histogram's top bucket.
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThanOrEqual(60);

    // The totals Prometheus holds are what the server counted (two devices each acked everything it scraped).
    const acked = await prometheus.query('tether_acked_total');
    expect(acked[0]?.metric).toMatchObject({ job: 'tether' });
    expect(acked[0]!.value).toBeLessThanOrEqual(server.server.stats().acked);
  });

  it('a wrong key: the target is down with a 401, and no tether series is stored', async () => {
    const server = await startServer({ adminKeys: [ADMIN_KEY] });
    open.servers.push(server);
    const prometheus = await startPrometheus({
      target: { address: `127.0.0.1:${server.port}`, bearerToken: 'a-key-that-is-not-admin' },
    });
    open.prometheus.push(prometheus);
    const health = await waitUntil(
      async () => {
        const h = await prometheus.targetHealth();
        return h?.health === 'down' ? h : undefined;
      },
      30_000,
      'target down',
      200,
    );
    expect(health.lastError).toMatch(/401/);
    expect(await prometheus.query('tether_connections')).toEqual([]);
  });
});
