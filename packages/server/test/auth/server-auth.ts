/** A real Tether server (port 0) configured with public keys or a JWKS URL, and HTTP helpers. */
import { randomBytes } from 'node:crypto';
import { createTetherServer, type TetherServer, type TetherServerOptions } from '@tether/server';
import { connectClient, type ConnectError, type TestClient } from '@tether/testing';

export interface KeyServer {
  server: TetherServer;
  url: string;
  apiKey: string;
  close(): Promise<void>;
}

/** No `jwtSecret` unless given: only the configured public keys / JWKS verify tokens. */
export async function startKeyServer(options: TetherServerOptions): Promise<KeyServer> {
  const apiKey = `tk_test_${randomBytes(16).toString('base64url')}`;
  const server = await createTetherServer({
    store: 'memory',
    logger: false,
    apiKeys: [{ key: apiKey, tenant: '*' }],
    ...options,
  });
  const { url } = await server.listen(0, '127.0.0.1');
  return { server, url, apiKey, close: () => server.close() };
}

/** Connects; the code of the refusal (`connect_error` data), or 'connected' (the client is then closed). */
export async function handshakeOutcome(url: string, token: string): Promise<string> {
  try {
    const c = await connectClient(url, token);
    c.close();
    return 'connected';
  } catch (err) {
    return String(((err as ConnectError).data as { code?: unknown } | undefined)?.code);
  }
}

/** The code of a refused `refresh`, or 'refreshed'. */
export async function refreshOutcome(client: TestClient, token: string): Promise<string> {
  const reply = await client.refresh(token);
  return 'error' in reply ? reply.error.code : 'refreshed';
}

/** POST /v1/poll with a bearer token: 'ok' on 200, else the error code (with its status). */
export async function pollOutcome(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/v1/poll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ positions: {} }),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return res.status === 200 ? 'ok' : `${res.status} ${body.error?.code}`;
}
