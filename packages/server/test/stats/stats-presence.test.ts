/**
 * With presence on, `/v1/stats` (and so the dashboard's presence box) carries this node's presence
 * figures: devices, channel memberships, devices in their grace period. Without presence, none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StatsAnswer } from '@tether/server';
import { startServer, waitUntil, type TestServer } from '@tether/testing';
import { presenceClient, type PresenceClient } from '../presence/presence-helpers.js';

const ADMIN_KEY = 'ak_stats_presence_0123456789abcdef';
let srv: TestServer | undefined;
const clients: PresenceClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv?.close();
  srv = undefined;
});

async function stats(server: TestServer): Promise<StatsAnswer> {
  const res = await fetch(`${server.url}/v1/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as StatsAnswer;
}

describe('/v1/stats and presence', () => {
  it('counts devices, memberships and devices in their grace period', async () => {
    srv = await startServer({
      adminKeys: [ADMIN_KEY],
      presence: { channels: [{ pattern: 'room:*' }], graceMs: 60_000, batchMs: 10 },
    });
    const server = srv;
    const a = await presenceClient(server, { sub: 'ann', channels: ['room:*'] });
    const b = await presenceClient(server, { sub: 'bob', channels: ['room:*'] });
    clients.push(a, b);
    await a.sub('room:1');
    await b.sub('room:1');
    await waitUntil(async () => ((await stats(server)).total.presence?.['memberships'] === 2 ? true : undefined));
    expect((await stats(server)).total.presence).toEqual({ devices: 2, memberships: 2, inGrace: 0 });
    b.close(); // gone, but within its grace period
    await waitUntil(async () => ((await stats(server)).total.presence?.['inGrace'] === 1 ? true : undefined));
  });

  it('carries no presence figures when presence is off', async () => {
    srv = await startServer({ adminKeys: [ADMIN_KEY] });
    expect((await stats(srv)).total).not.toHaveProperty('presence');
  });
});
