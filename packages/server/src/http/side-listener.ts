/**
 * A listener on a port of its own that answers a few `GET` paths and nothing else: the metrics
 * (`metrics.port`) and the probes (`probePort`). Its accept queue is its own, so a crowd of
 * WebSocket connects queued on the main port never stands in front of a scrape or a probe.
 */
import http from 'node:http';
import { ErrorCode, TetherError } from '@tether/protocol';
import { listenOn } from './listen.js';

/** Answers one request on a side path (errors are the handler's to answer). */
export type SideRoute = (res: http.ServerResponse) => void;

export interface SideListener {
  /** `http://host:port` of the bound listener. */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenOnSide(
  routes: ReadonlyMap<string, SideRoute>,
  port: number,
  host: string,
): Promise<SideListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = req.method === 'GET' ? routes.get(path) : undefined;
    if (route) return route(res);
    sendJson(res, 404, { error: new TetherError(ErrorCode.NotFound, `no route ${req.method ?? ''} ${path}`).toJSON() });
  });
  const bound = await listenOn(server, port, host, 511);
  return {
    url: bound.url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
