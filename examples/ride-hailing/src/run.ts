/**
 * Plays the 20 s outage of a driver's phone against the Nest backend and checks what the driver's
 * app got:
 *
 *   npm run example:ride-hailing -- [--mode drop|freeze|both] [--speed N]
 *
 * `drop`: the phone loses its network; `freeze`: TCP stalls without either end being told (the
 * SDK's probe finds it). `--speed 10` plays it 10× faster. Exit 0 when the driver got exactly the
 * relevant events, once: the open offer T2 (a type-wide rule used to hide it behind T1's
 * cancellation), the cancellation of T1 (whose offer it had), the latest rider location if still
 * fresh; never T3's offer (taken by another driver), T4's (withdrawn on the dispatch board: the
 * `isRelevant` hook over the injected TripBoard), an old location or a stale "taken". The
 * critical offer T2 reaches the app's push service once (signed webhook) while the phone is
 * unreachable; T1's offer, acked before the outage, is never pushed; nothing is pushed twice.
 * Dispatch's view after (TetherService presence and history): the driver online, T2 its only open
 * offer. A driver not on duty is refused its inbox (`authorize` over the injected Fleet).
 */
import { TetherClient } from '@tether/client';
import { startBackend, type Backend } from './backend.js';
import { startDriver } from './driver.js';
import { startOutageProxy } from './outage-proxy.js';
import { startPushReceiver } from './push-receiver.js';
import { riderSimulator } from './rider.js';
import type { DriverView } from './trips/trips.service.js';

type Outage = 'drop' | 'freeze';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const speed = Number(flag('speed', '1'));
const mode = flag('mode', 'both');
if (!(speed > 0) || !['drop', 'freeze', 'both'].includes(mode)) {
  console.error('usage: run.js [--mode drop|freeze|both] [--speed N]');
  process.exit(2);
}
const unitMs = 1000 / speed;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const EXPECTED = ['trip:requested T2', 'trip:cancelled T1', 'rider:location R1#4'];

/** A phone of a driver not on duty: the backend's `authorize` (the Fleet) refuses its inbox. */
async function offDutyRefused(backend: Backend): Promise<boolean> {
  const phone = new TetherClient({
    url: backend.url,
    token: await backend.driverToken('driver-99'),
    fallback: { enabled: false },
  });
  const refused = new Promise<string>((resolve) => {
    phone.on('error', ({ error, channel }) => channel === 'user:driver-99' && resolve(error.code));
    setTimeout(() => resolve('not refused'), 5000);
  });
  await phone.connect();
  const code = await refused;
  await phone.close();
  console.log(`driver-99 (not on duty): inbox ${code === 'forbidden' ? 'refused (forbidden)' : code}`);
  return code === 'forbidden';
}

async function dispatchView(backend: Backend, driverId: string): Promise<DriverView> {
  const response = await fetch(`${backend.url}/drivers/${driverId}`);
  if (!response.ok) throw new Error(`GET /drivers/${driverId}: ${response.status}`);
  return (await response.json()) as DriverView;
}

async function play(outage: Outage): Promise<boolean> {
  console.log(`\n== the driver's connection ${outage === 'drop' ? 'drops' : 'freezes'} for 20 s ==`);
  const pushService = await startPushReceiver();
  const backend = await startBackend({ unitMs, pushUrl: pushService.url, pushSecret: pushService.secret });
  const proxy = await startOutageProxy(backend.port);
  const driver = await startDriver({ url: proxy.url, token: await backend.driverToken('driver-7'), unitMs });
  const world = riderSimulator(backend.url, 'driver-7');
  let started = Date.now();
  const at = async (second: number, what: string, work: () => unknown): Promise<void> => {
    const wait = started + second * unitMs - Date.now();
    if (wait > 0) await sleep(wait);
    console.log(`t=${String(second).padStart(2)}s backend     ${what}`);
    await work();
  };
  let view: DriverView;
  let refusedOk: boolean;
  try {
    refusedOk = await offDutyRefused(backend);
    console.log('before     backend     offers trip T1; rider R1 at #1');
    await world.requestTrip('T1');
    await world.moveRider('R1', 1);
    const online = Date.now() + 10_000;
    while (driver.handled.length < 2 && Date.now() < online) await sleep(10); // the driver is online and has both
    started = Date.now();
    await at(0, `OUTAGE: connection ${outage === 'drop' ? 'dropped' : 'frozen'}`, () =>
      outage === 'drop' ? proxy.drop() : proxy.freeze(),
    );
    await at(2, 'rider R1 at #2', () => world.moveRider('R1', 2));
    await at(4, 'offers trip T2', () => world.requestTrip('T2'));
    await at(6, 'trip T1 cancelled by its rider', () => world.cancelTrip('T1'));
    await at(8, 'offers trip T3', () => world.requestTrip('T3'));
    await at(10, 'rider R1 at #3', () => world.moveRider('R1', 3));
    await at(12, 'trip T3 taken by another driver', () => world.tripTakenByAnother('T3'));
    await at(14, 'offers trip T4', () => world.requestTrip('T4'));
    await at(16, "trip T4 withdrawn: the rider's payment failed (the board only, no event)", () =>
      world.paymentFailed('T4'),
    );
    await at(19, 'rider R1 at #4', () => world.moveRider('R1', 4));
    await at(20, 'network back', () => proxy.restore());
    const deadline = Date.now() + 10 * unitMs + 2000;
    while (driver.handled.length < 2 + EXPECTED.length && Date.now() < deadline) await sleep(50);
    await sleep(2 * unitMs); // anything more would show up now
    view = await dispatchView(backend, 'driver-7');
  } finally {
    await driver.client.close();
    await proxy.close();
  }
  const stats = backend.tether.stats();
  await backend.close();
  await pushService.close();
  const after = driver.handled.slice(2);
  // T4's offer is dropped on replay by the board's `isRelevant` alone: no message superseded it.
  const ok =
    JSON.stringify(after) === JSON.stringify(EXPECTED) &&
    driver.handled[0] === 'trip:requested T1' &&
    stats.droppedBy.replay.irrelevant + stats.droppedBy.redelivery.irrelevant >= 1;
  console.log(`driver got after the outage: ${JSON.stringify(after)}`);
  console.log(`server drops by path: ${JSON.stringify(stats.droppedBy)}`);
  console.log(ok ? 'OK: exactly the relevant events, once' : `MISMATCH: expected ${JSON.stringify(EXPECTED)}`);
  // T3's and T4's offers are pushed too if the phone was already known unreachable when they were
  // offered (they were open then); once taken or withdrawn, they never are.
  const pushed = pushService.received.map((p) => p.tripId);
  const pushOk =
    pushed.filter((t) => t === 'T2').length === 1 && !pushed.includes('T1') && new Set(pushed).size === pushed.length;
  console.log(`pushes: ${JSON.stringify(pushService.received.map((p) => `${p.type} ${p.tripId} (${p.reason})`))}`);
  console.log(`push funnel: ${JSON.stringify(stats.push)}`);
  console.log(
    pushOk ? 'OK: the open offer T2 pushed once, T1 never' : 'MISMATCH: expected one push of T2 and none of T1',
  );
  const { presence, openOffers } = view;
  console.log(
    `dispatch view of driver-7: ${presence.status} (${presence.devices.length} device(s)); open offers: ${JSON.stringify(openOffers)}`,
  );
  const viewOk = presence.status === 'online' && JSON.stringify(openOffers) === '["T2"]';
  console.log(viewOk ? 'OK: driver online, T2 its only open offer' : 'MISMATCH: expected online and ["T2"]');
  return ok && pushOk && viewOk && refusedOk;
}

const modes: Outage[] = mode === 'both' ? ['drop', 'freeze'] : [mode as Outage];
let allOk = true;
for (const outage of modes) allOk = (await play(outage)) && allOk;
process.exit(allOk ? 0 : 1);
