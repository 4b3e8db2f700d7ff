/**
 * Where Prometheus scrapes: `GET <path>` on the server's own port for an admin key
 * (`Authorization: Bearer`), or on a port of its own with no key (metrics.port).
 */
import type http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { bearerOf } from '../http/credentials.js';
import { AdminKeyRing } from '../http/admin-keys.js';
import { listenOnSide } from '../http/side-listener.js';
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
  const scrape = (res: http.ServerResponse): void => {
    metrics.scrape().then(
      ({ text, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  };
  const side = await listenOnSide(new Map([[path, scrape]]), port, host);
  return { url: side.url + path, close: () => side.close() };
}
