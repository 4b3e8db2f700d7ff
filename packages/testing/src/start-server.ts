/** An in-process Tether server on a free port, with a generated secret and API key. */
import { randomBytes } from 'node:crypto';
import { createTetherServer, issueToken, type TetherServer, type TetherServerOptions } from '@tether/server';
import { testLimits } from './test-limits.js';

type IssueTokenOptions = Parameters<typeof issueToken>[0];

/** Claims for `token()`: a user id alone, or every option of `issueToken` but the secret. */
export type TestClaims = string | Omit<IssueTokenOptions, 'secret'>;

export interface StartServerOptions extends Partial<TetherServerOptions> {
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
}

export interface TestServer {
  server: TetherServer;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** The JWT secret (generated unless `jwtSecret` was given). */
  secret: string | Uint8Array;
  /** The first API key (generated, for any tenant, unless `apiKeys` was given; '' when none). */
  apiKey: string;
  /** A user token signed with `secret`; a bare string is the `sub`. */
  token(claims: TestClaims): Promise<string>;
  /** Closes the server; safe to call twice. */
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions = {}): Promise<TestServer> {
  const { port = 0, host = '127.0.0.1', ...serverOptions } = options;
  const secret = serverOptions.jwtSecret ?? randomBytes(32).toString('base64url');
  const apiKeys = serverOptions.apiKeys ?? [{ key: `tk_test_${randomBytes(16).toString('base64url')}`, tenant: '*' }];
  const server = await createTetherServer({
    store: 'memory',
    logger: false,
    // A test box under load lags now and then: no test server refuses with `server_busy` unless asked.
    busyLoopLagMs: 0,
    ...serverOptions,
    limits: { ...testLimits, ...serverOptions.limits },
    jwtSecret: secret,
    apiKeys,
  });
  let bound: { port: number };
  try {
    bound = await listen(server, options, port, host);
  } catch (err) {
    await server.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host}:${bound.port}`,
    port: bound.port,
    secret,
    apiKey: apiKeys[0]?.key ?? '',
    token: (claims) => issueToken({ ...(typeof claims === 'string' ? { sub: claims } : claims), secret }),
    close: () => (closing ??= server.close()),
  };
}

/** `server.listen` when Tether owns the HTTP server; the caller's own server is listened on directly. */
async function listen(
  server: TetherServer,
  options: StartServerOptions,
  port: number,
  host: string,
): Promise<{ port: number }> {
  const own = options.httpServer;
  if (!own) return server.listen(port, host);
  if (!own.listening) {
    await new Promise<void>((resolve, reject) => {
      own.once('error', reject);
      own.listen(port, host, () => {
        own.off('error', reject);
        resolve();
      });
    });
  }
  const address = own.address();
  if (address === null || typeof address === 'string') throw new Error('startServer: httpServer has no TCP address');
  return { port: address.port };
}
