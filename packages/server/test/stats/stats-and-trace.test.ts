/**
 * `GET /v1/stats` and `GET /v1/trace` on one node, with real clients: both refuse without a
 * configured admin key, without a credential, with a wrong key and with a publish API key; with
 * the admin key the figures move as the test publishes and the clients ack, and the trace tells a
 * device that acked everything from one that is behind, then from one that left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  connectClient,
  hostileString,
  startServer,
  waitUntil,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import type { StatsAnswer, TraceAnswer } from '@tether/server';
import { getJson } from './admin-http.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const CHANNEL = 'room:1';
let srv: TestServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  // No redelivery while the test looks: the device behind stays "unacked", not "missed".
  srv = await startServer({ adminKeys: [ADMIN_KEY], statsIntervalMs: 1000, ackTimeoutMs: 120_000 });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await srv.close();
});

async function stats(): Promise<StatsAnswer> {
  const { status, body } = await getJson(`${srv.url}/v1/stats`, ADMIN_KEY);
  expect(status).toBe(200);
  return body as unknown as StatsAnswer;
}

async function trace(sub: string, channel = CHANNEL): Promise<TraceAnswer> {
  const { status, body } = await getJson(`${srv.url}/v1/trace?sub=${sub}&channel=${channel}`, ADMIN_KEY);
  expect(status).toBe(200);
  return body as unknown as TraceAnswer;
}

describe('admin key', () => {
  it('refuses /v1/stats and /v1/trace without a credential, with a wrong key and with a publish API key', async () => {
    for (const path of ['/v1/stats', `/v1/trace?sub=alice&channel=${CHANNEL}`]) {
      for (const credential of [undefined, 'not-the-admin-key-0123456789', srv.apiKey]) {
        const { status, body } = await getJson(`${srv.url}${path}`, credential);
        expect({ path, status, code: body.error?.code }).toEqual({ path, status: 401, code: 'unauthorized' });
      }
    }
  });

  it('refuses every key when none is configured', async () => {
    const bare = await startServer({});
    try {
      for (const path of ['/v1/stats', `/v1/trace?sub=alice&channel=${CHANNEL}`]) {
        const { status, body } = await getJson(`${bare.url}${path}`, bare.apiKey);
        expect(status).toBe(401);
        expect(body.error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('adminKeys') });
      }
    } finally {
      await bare.close();
    }
  });

  it('refuses a malformed trace query with its code, and answers nothing else', async () => {
    const cases: [string, string][] = [
      [`channel=${CHANNEL}`, 'bad_request'],
      [`sub=alice`, 'invalid_channel'],
      [`sub=alice&channel=no%2Fslash`, 'invalid_channel'],
      [`sub=alice&channel=${CHANNEL}&tenant=a%2Fb`, 'bad_request'],
    ];
    for (const [query, code] of cases) {
      const { status, body } = await getJson(`${srv.url}/v1/trace?${query}`, ADMIN_KEY);
      expect({ query, status, code: body.error?.code }).toEqual({ query, status: 400, code });
    }
  });
  it('hostile trace queries: 200 or a documented 4xx, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          tenant: fc.option(hostileString),
          sub: fc.option(hostileString),
          channel: fc.option(hostileString),
        }),
        async (fields) => {
          const query = new URLSearchParams();
          for (const [name, value] of Object.entries(fields)) if (value !== null) query.append(name, value);
          const { status, body } = await getJson(`${srv.url}/v1/trace?${query}`, ADMIN_KEY);
          expect([200, 400, 414, 431]).toContain(status);
          if (status === 400) expect(['bad_request', 'invalid_channel']).toContain(body.error?.code);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('figures and trace with real clients', () => {
  it('the figures move as messages are published and acked', async () => {
    const before = await stats();
    expect(before.nodes.map((n) => n.nodeId)).toEqual(['local']);
    expect(before.complete).toBe(true);

    const token = await srv.token({ sub: 'alice', channels: [CHANNEL] });
    const phone = await connectClient(srv.url, token, { deviceId: 'phone' });
    const laptop = await connectClient(srv.url, token, { deviceId: 'laptop' });
    clients.push(phone, laptop);
    for (const c of [phone, laptop]) expect(await c.sub(CHANNEL)).toMatchObject({ offset: 0 });

    await srv.server.publishMany(
      Array.from({ length: 5 }, (_, i) => ({ channel: CHANNEL, type: 'note', data: { i } })),
    );
    for (const c of [phone, laptop]) await c.messages.waitForCount(5, { channel: CHANNEL });
    phone.ack({ [CHANNEL]: 5 });
    laptop.ack({ [CHANNEL]: 2 });

    const after = await waitUntil(async () => {
      const s = await stats();
      // The walk over the connections (unacked, subscriptions) is at most a sampling window old.
      return s.total.counters.acked - before.total.counters.acked === 7 && s.total.unacked === 3 ? s : undefined;
    });
    const t = after.total;
    expect(t.counters.published - before.total.counters.published).toBe(5);
    expect(t.counters.delivered.live - before.total.counters.delivered.live).toBe(10);
    expect(t.connections).toBe(2);
    expect(t.connectionsByTenant).toEqual({ default: 2 });
    // Each connection: the channel and its own inbox.
    expect(t.subscriptions).toBe(4);
    expect(t.activeChannels).toBeGreaterThanOrEqual(1);
    // The laptop has 3 sent and unacked: the backlog names the channel, with one subscription behind.
    expect(t.unacked).toBe(3);
    expect(t.topBacklog).toEqual([{ tenant: 'default', channel: CHANNEL, unacked: 3, behind: 1 }]);
    expect(after.nodes).toHaveLength(1);
    expect(after.nodes[0]!.counters).toEqual(t.counters);
    // Nothing was raised: the node's recent alerts are an empty list; the delivery summary is there.
    expect(after.alerts).toEqual([]);
    expect(t.delivery?.ackedWithin.delivered).toBeGreaterThan(0);

    // The rates (per second over the last sampling window) move too: another user publishes and acks
    // on its own channel by HTTP until a window shows both, however the windows fall on a busy box.
    const rater = await srv.token({ sub: 'rater', channels: ['rates:1'] });
    const seen = { published: false, acked: false };
    await waitUntil(async () => {
      const { offset } = await srv.server.publish({ channel: 'rates:1', type: 'note', data: {} });
      const ack = await fetch(`${srv.url}/v1/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rater}`, 'content-type': 'application/json' },
        body: JSON.stringify({ acks: { 'rates:1': offset }, deviceId: 'rater-device' }),
      });
      expect(ack.status).toBe(200);
      const s = await stats();
      if (s.total.rates.published > 0) seen.published = true;
      if (s.total.rates.acked > 0) seen.acked = true;
      if (s.total.rates.published > 0) expect(s.nodes[0]!.windowMs).toBeGreaterThan(0);
      return seen.published && seen.acked ? true : undefined;
    });
  });

  it('the trace tells the device that acked from the one behind, then from the one that left', async () => {
    const [phone, laptop] = clients;
    const answer = await trace('alice');
    expect(answer).toMatchObject({
      tenant: 'default',
      sub: 'alice',
      channel: CHANNEL,
      head: 5,
      userAcked: 5,
      complete: true,
    });
    const byDevice = Object.fromEntries(answer.devices.map((d) => [d.deviceId, d]));
    expect(byDevice.phone).toMatchObject({
      nodeId: 'local',
      connected: true,
      subscribed: true,
      acked: 5,
      sentUpTo: 5,
      unacked: 0,
      missed: 0,
      behind: 0,
    });
    expect(byDevice.laptop).toMatchObject({ connected: true, subscribed: true, acked: 2, unacked: 3, behind: 3 });
    expect(byDevice.laptop!.connectedAt).toEqual(expect.any(Number));

    // The laptop leaves: it is then last seen, its ack still known.
    laptop!.close();
    const gone = await waitUntil(async () => {
      const a = await trace('alice');
      const d = a.devices.find((x) => x.deviceId === 'laptop');
      return d && !d.connected ? d : undefined;
    });
    expect(gone).toMatchObject({
      subscribed: false,
      acked: 2,
      behind: 3,
      unacked: null,
      lastSeenAt: expect.any(Number),
    });
    expect(phone!.socket.connected).toBe(true);

    // Another user, or another channel: no devices, the channel's head all the same.
    expect((await trace('bob')).devices).toEqual([]);
    expect(await trace('alice', 'room:2')).toMatchObject({ head: 0, userAcked: 0 });
  });
});
