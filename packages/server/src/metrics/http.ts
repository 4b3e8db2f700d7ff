/**
 * Where Prometheus scrapes: `GET <path>` on the server's own port for an admin key
 * (`Authorization: Bearer`), or on a port of its own with no key (metrics.port).
 */
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, TetherError } from '@tether/protocol';
import { bearerOf } from '../http/credentials.js';
import { AdminKeyRing } from '../http/admin-keys.js';
import { listenOn } from '../http/listen.js';
import type { TetherMetrics } from './metrics.js';

export function metricsRoute(
  metrics: TetherMetrics,
  path: string,
  adminKeys: readonly string[],
): (app: FastifyInstance) => void {
  const keys = new AdminKeyRing(adminKeys);
  return (app) => {
    app.get(path, async (request, reply) => {
      keys.check(bearerOf(request));
      const { text, contentType } = await metrics.scrape();
      return reply.type(contentType).send(text);
    });
  };
}

export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

/** The metrics on their own port: nothing else is served there, and no key is asked. */
export async function listenForMetrics(
  metrics: TetherMetrics,
  path: string,
  port: number,
  host: string,
): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || url !== path) {
      const err = new TetherError(ErrorCode.NotFound, `no route ${req.method ?? ''} ${url ?? ''}`);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(err.toJSON()));
      return;
    }
    metrics.scrape().then(
      ({ text, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  const bound = await listenOn(server, port, host, 511);
  return {
    url: bound.url + path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
