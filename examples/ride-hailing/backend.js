/**
 * The ride-hailing backend: an HTTP server with Tether mounted (`createTetherServer`), the scoped
 * relevance rules, and the few routes the simulators call. A trip's offer goes to the driver's
 * inbox as `trip:requested` (critical: a driver who does not ack it within 10 s, or has no live
 * connection, gets it as a push through the webhook); a cancellation or another driver taking the trip supersedes that trip's offer only.
 */
import http from 'node:http';
import { createTetherServer, issueToken } from '@tether/server';

const SECRET = 'ride-hailing-example-secret-of-32-bytes!';

/** The rules, with "a second" lasting `unitMs` (1000 for real time; less to play it faster). */
export function rideHailingRules(unitMs = 1000) {
  return {
    // An offer stays open until a cancellation or a take OF THE SAME TRIP (scope: data.tripId).
    'trip:requested': { supersededBy: ['trip:cancelled', 'trip:taken'], scope: 'tripId' },
    // "Someone else took it" only matters while the offer could still be on screen.
    'trip:taken': { ttl: 5 * unitMs },
    // A rider's location is worth 8 s, and only the latest one per rider.
    'rider:location': { ttl: 8 * unitMs, collapseKey: 'riderId' },
  };
}

export async function startBackend({ unitMs = 1000, push } = {}) {
  const routes = new Map();
  const httpServer = http.createServer((req, res) => {
    const route = routes.get(`${req.method} ${req.url}`);
    if (!route) return; // Tether answers /socket.io/, /v1/*, /healthz, /readyz
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', async () => {
      try {
        const result = await route(JSON.parse(body || '{}'));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
      }
    });
  });
  const tether = await createTetherServer({
    httpServer,
    jwtSecret: SECRET,
    relevance: rideHailingRules(unitMs),
    logger: { level: 'warn' },
    // A critical offer nobody acked within 10 s, or to a driver with no live connection, goes to
    // the app's push service (a signed webhook), once.
    ...(push && {
      push: {
        webhook: { url: push.url, secret: push.secret },
        ackWithin: 10 * unitMs,
        pollIntervalMs: Math.max(10, Math.round(unitMs / 2)),
      },
    }),
  });
  const toDriver = (driverId, type, data, extra = {}) =>
    tether.publish({ channel: `user:${driverId}`, type, data, ...extra });

  routes.set('POST /trips', ({ tripId, driverId }) =>
    toDriver(driverId, 'trip:requested', { tripId }, { critical: true }),
  );
  routes.set('POST /trips/cancel', ({ tripId, driverId }) => toDriver(driverId, 'trip:cancelled', { tripId }));
  routes.set('POST /trips/taken', ({ tripId, driverId }) => toDriver(driverId, 'trip:taken', { tripId }));
  routes.set('POST /riders/location', ({ riderId, driverId, n }) =>
    toDriver(driverId, 'rider:location', { riderId, n }),
  );

  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  return {
    url,
    port: httpServer.address().port,
    tether,
    driverToken: (driverId) => issueToken({ sub: driverId, channels: [], secret: SECRET }),
    async close() {
      await tether.close();
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
}
