/**
 * The ride-hailing case of issue 10, end to end through the fault proxy: a driver's phone loses
 * its connection for "20 s" (compressed: one unit is UNIT_MS instead of a second) while trips are
 * offered, cancelled and taken and a rider's location moves. Whether the connection drops or
 * freezes (TCP stalled, nobody told), the driver's app gets exactly the relevant events, once:
 * the open offer (which a type-wide `supersededBy` used to hide behind another trip's
 * cancellation), the cancellation of the trip whose offer it had, the latest location only while
 * within its ttl; never an expired or superseded one.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil, type TestServer } from '@tether/testing';
import type { RelevanceRules } from '@tether/server';
import type { TetherClient } from '@tether/client';
import { useFaultBed, Recorder, fast, sleep } from './helpers.js';

/** One "second" of the scenario. */
const UNIT_MS = 100;
const OUTAGE = 20;

/** The rules of the README's ride-hailing example, in scenario units. */
const rules: RelevanceRules = {
  'trip:requested': { supersededBy: ['trip:cancelled', 'trip:taken'], scope: 'tripId' },
  'trip:taken': { ttl: 5 * UNIT_MS },
  'rider:location': { ttl: 8 * UNIT_MS, collapseKey: 'riderId' },
};

const faults = useFaultBed();
const { bed, clients } = faults;

const INBOX = 'user:driver-7';

function publish(server: TestServer, type: string, data: Record<string, unknown>, critical?: boolean) {
  return server.server.publish({ channel: INBOX, type, data, ...(critical ? { critical } : {}) });
}

/** What the app saw: `type tripId|riderId@n`. */
function seen(recorder: Recorder): string[] {
  return recorder.handled.map((m) => {
    const data = m.data as { tripId?: string; riderId?: string; n?: number };
    return `${m.type} ${data.tripId ?? `${data.riderId}@${data.n}`}`;
  });
}

async function driverOnline(server: TestServer, probe?: { intervalMs: number; timeoutMs: number }) {
  const proxy = await faults.proxyTo(server);
  const driver: TetherClient = clients.make({
    url: proxy.url,
    token: await server.token({ sub: 'driver-7', channels: [] }),
    ...fast,
    ...(probe ? { probeIntervalMs: probe.intervalMs, probeTimeoutMs: probe.timeoutMs } : {}),
  });
  const recorder = new Recorder();
  driver.inbox.setHandler(recorder.handler);
  await driver.connect();
  await publish(server, 'trip:requested', { tripId: 'T1' }, true);
  await publish(server, 'rider:location', { riderId: 'R1', n: 1 });
  await waitUntil(() => (recorder.handled.length === 2 ? true : undefined), 5000, 'online events');
  return { driver, recorder };
}

/** The 20 units of outage, as the backend lives them. */
async function duringOutage(server: TestServer): Promise<void> {
  const at = async (unit: number, work: () => Promise<unknown>): Promise<void> => {
    const wait = startedAt + unit * UNIT_MS - Date.now();
    if (wait > 0) await sleep(wait);
    await work();
  };
  const startedAt = Date.now();
  await at(2, () => publish(server, 'rider:location', { riderId: 'R1', n: 2 }));
  await at(4, () => publish(server, 'trip:requested', { tripId: 'T2' }, true));
  await at(6, () => publish(server, 'trip:cancelled', { tripId: 'T1' }));
  await at(8, () => publish(server, 'trip:requested', { tripId: 'T3' }, true));
  await at(10, () => publish(server, 'rider:location', { riderId: 'R1', n: 3 }));
  await at(12, () => publish(server, 'trip:taken', { tripId: 'T3' }));
  await at(19, () => publish(server, 'rider:location', { riderId: 'R1', n: 4 }));
  await at(OUTAGE, async () => undefined);
}

/** What the driver must see after the outage, in order, each once. */
const RELEVANT = ['trip:requested T2', 'trip:cancelled T1', 'rider:location R1@4'];

describe('ride-hailing: a 20 s outage gives the driver exactly the relevant events, once', () => {
  it('a dropped connection: resumed through the rules on replay', async () => {
    const server = await bed.start({ relevance: rules });
    const { recorder } = await driverOnline(server);

    faults.proxy.block(); // the phone is gone: reconnects are refused meanwhile
    faults.proxy.cut();
    await duringOutage(server);
    faults.proxy.unblock();

    await waitUntil(() => (recorder.handled.length >= 5 ? true : undefined), 5000, 'relevant events');
    await sleep(3 * UNIT_MS); // nothing else follows
    expect(seen(recorder).slice(2)).toEqual(RELEVANT);
    const dropped = server.server.stats().droppedBy.replay;
    expect(dropped.superseded).toBe(1); // T3's offer, and only it
    expect(dropped.ttl + dropped.collapsed).toBe(3); // locations 2 and 3, T3 taken
  });

  it('a frozen connection (TCP stalled) found by the probe: the same events, the frozen pipe never handed to the app', async () => {
    const server = await bed.start({ relevance: rules });
    const { driver, recorder } = await driverOnline(server, { intervalMs: 2 * UNIT_MS, timeoutMs: 3 * UNIT_MS });

    faults.proxy.stall(); // frames go into the pipe; neither end is told
    faults.proxy.block();
    await duringOutage(server);
    faults.proxy.unblock();

    await waitUntil(() => (recorder.handled.length >= 5 ? true : undefined), 5000, 'relevant events');
    faults.proxy.resume(); // what the frozen pipe held goes to a socket the client has let go
    await sleep(3 * UNIT_MS);
    expect(seen(recorder).slice(2)).toEqual(RELEVANT);
    expect(driver.metrics().connects).toBe(2);
    expect(server.server.stats().droppedBy.replay.superseded).toBe(1);
  });

  it('a frozen connection that thaws by itself: the SDK drops what went stale in the pipe (expiresAt, supersedes)', async () => {
    // No probe notices 20 units of silence: the live frames wait in the pipe and arrive late.
    const server = await bed.start({ relevance: rules });
    const { driver, recorder } = await driverOnline(server);

    const stale: string[] = [];
    driver.on('stale', ({ message, reason }) =>
      stale.push(`${reason}: ${seen({ handled: [message] } as Recorder)[0]}`),
    );
    faults.proxy.stall();
    await duringOutage(server);
    faults.proxy.resume();

    await waitUntil(() => (recorder.handled.length >= 5 ? true : undefined), 5000, 'relevant events');
    await sleep(3 * UNIT_MS);
    // Live frames written into the frozen pipe arrive late, together: T3's offer is superseded by
    // the `taken` in the same burst, which itself expired (expiresAt); locations 2 and 3 are
    // collapsed by the later ones in hand (or expired: either way never the app's).
    expect(seen(recorder).slice(2)).toEqual(RELEVANT);
    expect(stale).toContain('superseded: trip:requested T3');
    expect(stale).toContain('expired: trip:taken T3');
    expect(stale.filter((s) => s.endsWith('R1@2') || s.endsWith('R1@3'))).toHaveLength(2);
    expect(stale).toHaveLength(4);
    const { expired, superseded, connects } = driver.metrics();
    expect(expired + superseded).toBe(4);
    expect(connects).toBe(1);
  });
});
