/**
 * Network faults between the client and the server, through the fault proxy of packages/testing:
 * a half-open connection (nothing passes, nobody is told) is found by the RTT probe and replaced;
 * a socket path that cannot connect falls back to HTTP long-polling and comes back. No message is
 * lost or handled twice either way.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testing';
import { ClientState, StatusReason } from '@tether/client';
import { useFaultBed, Recorder, fast, range, sleep, statusLog } from './helpers.js';

const faults = useFaultBed();
const { bed, clients } = faults;

describe('network faults', () => {
  it('a stalled (half-open) connection is found by the probe and replaced, with no loss and no duplicate', async () => {
    const server = await bed.start();
    const proxy = await faults.proxyTo(server);
    const client = clients.make({
      url: proxy.url,
      token: await server.token({ sub: 'u1', channels: ['feed:*'] }),
      ...fast,
      probeIntervalMs: 200,
      probeTimeoutMs: 400,
    });
    const statuses = statusLog(client);
    const recorder = new Recorder();
    client.subscribe('feed:h', recorder.handler, { since: { offset: 0 } });
    await client.connect();
    const publish = (from: number, to: number) =>
      server.server.publishMany(range(from, to).map((n) => ({ channel: 'feed:h', type: 't', data: n })));

    await publish(1, 10);
    await waitUntil(() => (recorder.handled.length === 10 ? true : undefined));
    await waitUntil(() => (client.metrics().rttLastMs !== undefined ? true : undefined));

    proxy.stall(); // the live connection freezes; TCP on both ends still believes in it
    await publish(11, 30); // written into the frozen pipe
    await waitUntil(() => (client.metrics().connects === 2 ? true : undefined), 5000, 'replaced');
    await publish(31, 40);
    await waitUntil(() => (recorder.handled.length >= 40 ? true : undefined), 5000, 'all handled');
    proxy.resume(); // what the frozen pipe held arrives nowhere that matters
    await sleep(200);

    expect(recorder.offsets()).toEqual(range(1, 40));
    expect(statuses.map((s) => [s.to, s.reason])).toEqual([
      [ClientState.Connecting, StatusReason.ConnectCalled],
      [ClientState.Connected, StatusReason.Connected],
      [ClientState.Reconnecting, StatusReason.ProbeTimeout],
      [ClientState.Connected, StatusReason.Connected],
    ]);
    expect(client.metrics().quality).not.toBe('unknown');
  });

  it('with the socket path blocked it goes to fallback, receives over HTTP, and returns to connected; each message once', async () => {
    const server = await bed.start();
    const proxy = await faults.proxyTo(server);
    const client = clients.make({
      url: proxy.url,
      token: await server.token({ sub: 'ana', channels: ['feed:*'] }),
      ...fast,
      fallback: { enabled: true, afterAttempts: 2, afterMs: 1000, pollWaitSeconds: 2, pollIntervalMs: 200 },
    });
    const statuses = statusLog(client);
    const feed = new Recorder();
    const inbox = new Recorder();
    client.subscribe('feed:f', feed.handler, { since: { offset: 0 } });
    client.inbox.setHandler(inbox.handler);
    await client.connect();
    const publish = (channel: string, from: number, to: number) =>
      server.server.publishMany(range(from, to).map((n) => ({ channel, type: 't', data: n })));

    await publish('feed:f', 1, 5);
    await publish('user:ana', 1, 2);
    await waitUntil(() => (feed.handled.length === 5 && inbox.handled.length === 2 ? true : undefined));

    proxy.blockPath('/socket.io/'); // websockets refused (a proxy that strips upgrades); HTTP passes
    await waitUntil(() => (client.status === ClientState.Fallback ? true : undefined), 5000, 'fallback');
    await publish('feed:f', 6, 15);
    await publish('user:ana', 3, 5);
    await waitUntil(
      () => (feed.handled.length === 15 && inbox.handled.length === 5 ? true : undefined),
      5000,
      'polled',
    );
    expect(server.server.stats().delivered.http).toBeGreaterThan(0);
    // Acks go over HTTP too.
    await waitUntil(() => (server.server.stats().acked > 0 ? true : undefined), 3000, 'acked');

    proxy.unblockPath();
    await waitUntil(() => (client.status === ClientState.Connected ? true : undefined), 5000, 'back on the socket');
    await publish('feed:f', 16, 25);
    await publish('user:ana', 6, 6);
    await waitUntil(
      () => (feed.handled.length >= 25 && inbox.handled.length >= 6 ? true : undefined),
      5000,
      'live again',
    );
    await sleep(300);

    expect(feed.offsets()).toEqual(range(1, 25));
    expect(inbox.offsets()).toEqual(range(1, 6));
    const path = statuses.map((s) => s.to);
    expect(path.slice(0, 2)).toEqual([ClientState.Connecting, ClientState.Connected]);
    expect(path).toContain(ClientState.Fallback);
    expect(path.at(-1)).toBe(ClientState.Connected);
    expect(statuses.find((s) => s.to === ClientState.Fallback)?.reason).toBe(StatusReason.FallbackStarted);
    const metrics = client.metrics();
    expect(metrics.polls).toBeGreaterThan(0);
    expect(metrics.fallbackMs).toBeGreaterThan(0);
  });
});
