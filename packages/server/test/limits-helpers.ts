/**
 * Raw connection attempts for the limits tests: a WebSocket upgrade or a polling handshake on the
 * Socket.IO path, answered either by Engine.IO (101 / 200 / 400) or by the gate (429), with the
 * socket kept open when it was accepted, so that caps can be filled.
 */
import http from 'node:http';
import { afterEach } from 'vitest';
import { startServer, type StartServerOptions, type TestServer } from '@tether/testing';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface Attempt {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Ends an accepted connection (no-op for a refused one). */
  close(): void;
  /** Resolves once an accepted connection is closed by the server. */
  closed: Promise<void>;
}

/** A WebSocket handshake to `/socket.io/?EIO=4&transport=websocket`, from 127.0.0.1. */
export function upgradeAttempt(
  port: number,
  headers: Record<string, string> = {},
  path = '/socket.io/',
): Promise<Attempt> {
  return new Promise<Attempt>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: `${path}?EIO=4&transport=websocket`,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket: Socket) => {
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      socket.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', close: () => socket.destroy(), closed });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          close: () => undefined,
          closed: Promise.resolve(),
        }),
      );
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET with `transport=polling` and no `sid`: an Engine.IO polling handshake. */
export async function pollingHandshake(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  return { status: response.status, body: await response.text() };
}

export function errorOf(body: string): { code?: string; retryAfterMs?: number } {
  return (JSON.parse(body) as { error: { code?: string; retryAfterMs?: number } }).error;
}

/**
 * What a test opened, closed after it, last first: `const { cleanups, server } = closedAfterEach()`
 * at the top of a test file (it registers the `afterEach`).
 */
export function closedAfterEach(): {
  cleanups: (() => unknown)[];
  server(options?: StartServerOptions): Promise<TestServer>;
} {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const server = async (options: StartServerOptions = {}): Promise<TestServer> => {
    const srv = await startServer(options);
    cleanups.push(() => srv.close());
    return srv;
  };
  return { cleanups, server };
}
