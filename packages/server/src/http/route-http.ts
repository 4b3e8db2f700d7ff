import type http from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Paths Tether answers on a server it shares with an app. */
const OWN_PATHS = /^\/(v1\/|healthz(?:\?|$)|readyz(?:\?|$))/;

/**
 * Hands HTTP requests to fastify. On a server Tether created, every request is ours; on an app's
 * server, only Tether's paths are, and the app's own request listeners get the rest (the same
 * wrapping Socket.IO does for its path).
 */
export function routeHttp(
  server: http.Server,
  building: Promise<FastifyInstance>,
  ownsServer: boolean,
  /** Further path prefixes that are Tether's on an app's server (the dashboard's, the metrics path). */
  ownPrefixes: readonly string[] = [],
): void {
  const isOwn = (url: string): boolean =>
    OWN_PATHS.test(url) ||
    ownPrefixes.some((prefix) => url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`));
  // Until fastify is ready (a request may come at once on an app's listening server), requests wait for it.
  let route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    building.then(
      (app) => app.routing(req, res),
      () => {
        res.statusCode = 503;
        res.end();
      },
    );
  };
  building.then(
    (app) => {
      route = (req, res) => app.routing(req, res);
    },
    () => undefined,
  );
  if (ownsServer) {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => route(req, res));
    return;
  }
  const appListeners = server.listeners('request').slice() as ((...args: unknown[]) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (isOwn(req.url ?? '')) route(req, res);
    else for (const listener of appListeners) listener.call(server, req, res);
  });
}
