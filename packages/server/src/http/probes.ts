/**
 * `GET /healthz` and `GET /readyz` on a port of their own (`probePort`), for an orchestrator's
 * probes. After a restart under load the main port's accept queue holds thousands of WebSocket
 * connects, each served in turn: a probe queued behind them waits seconds although the event loop
 * is free (bench/README.md, "the resume storm"), and a liveness probe that waits is a restart.
 * Here a probe waits for nothing but the loop, which is what it should measure.
 */
import { ErrorCode, TetherError } from '@tether/protocol';
import { listenOnSide, sendJson, type SideListener, type SideRoute } from './side-listener.js';

/** The same answers as the main port's routes (http/api.ts). */
function probeRoutes(ready: () => Promise<boolean>): Map<string, SideRoute> {
  const unready = new TetherError(ErrorCode.StoreUnavailable, 'store unreachable').toJSON();
  return new Map<string, SideRoute>([
    ['/healthz', (res) => sendJson(res, 200, { status: 'ok' })],
    [
      '/readyz',
      (res) => {
        ready().then(
          (ok) => (ok ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { error: unready })),
          () => sendJson(res, 503, { error: unready }),
        );
      },
    ],
  ]);
}

export function listenForProbes(ready: () => Promise<boolean>, port: number, host: string): Promise<SideListener> {
  return listenOnSide(probeRoutes(ready), port, host);
}
