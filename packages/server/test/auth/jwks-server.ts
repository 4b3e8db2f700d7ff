/**
 * A local JWKS endpoint for the auth tests: a plain node:http server on 127.0.0.1, port 0, serving
 * `{keys: […]}`. It can switch keys, count requests, fail (HTTP 500) or hang (never answer).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

export type JwksMode = 'ok' | 'fail' | 'hang';

export interface JwksServer {
  /** The JWKS URL. */
  readonly url: string;
  /** Requests received so far (answered or not). */
  readonly requests: number;
  keys: JWK[];
  mode: JwksMode;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let requests = 0;
  const state = { keys, mode: 'ok' as JwksMode };
  const server = http.createServer((req, res) => {
    requests++;
    if (state.mode === 'hang') return; // the client's timeout ends it
    if (state.mode === 'fail') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('down for maintenance');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get requests() {
      return requests;
    },
    get keys() {
      return state.keys;
    },
    set keys(next: JWK[]) {
      state.keys = next;
    },
    get mode() {
      return state.mode;
    },
    set mode(next: JwksMode) {
      state.mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
