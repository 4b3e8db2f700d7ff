/**
 * Logs (docs/operations.md, "Logs"): JSON lines whose connection lines are bound to the socket,
 * user and tenant, and whose HTTP lines carry fastify's request id; pino-pretty's lines when the
 * format says `pretty` (here by TETHER_LOG_FORMAT and the configuration file, not a real terminal).
 * Runs the built CLI: `npm run build` first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, startServerProcess, waitUntil, type ServerProcess, type TestClient } from '@tether/testing';

const open: { clients: TestClient[]; processes: ServerProcess[] } = { clients: [], processes: [] };

afterEach(async () => {
  for (const c of open.clients.splice(0)) c.close();
  for (const p of open.processes.splice(0)) await p.stop();
});

async function start(env: Record<string, string>, config?: object): Promise<ServerProcess> {
  const server = await startServerProcess({ store: 'memory', env, ...(config ? { config } : {}) });
  open.processes.push(server);
  return server;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('JSON logs (TETHER_LOG_FORMAT=json)', () => {
  it('every stdout line is JSON; connection lines carry socketId, sub and tenant; HTTP lines a reqId', async () => {
    const server = await start({ TETHER_LOG_FORMAT: 'json', TETHER_LOG_LEVEL: 'debug' });
    const token = await server.token({ sub: 'alice', tenant: 'acme', channels: ['*'] });
    const client = await connectClient(server.url, token, { deviceId: 'phone-1' });
    open.clients.push(client);
    const refused = await fetch(`${server.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-key-of-this-server', 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'c', type: 't', data: {} }),
    });
    expect(refused.status).toBe(401);
    client.close();

    const lines = await waitUntil(() => {
      const all = jsonLines(server.stdout());
      const closed = all.some((l) => l['msg'] === 'connection closed');
      const http = all.some((l) => l['msg'] === 'request refused');
      return closed && http ? all : undefined;
    });
    const opened = lines.find((l) => l['msg'] === 'connection opened');
    expect(opened).toMatchObject({ sub: 'alice', tenant: 'acme', deviceId: 'phone-1', level: 20 });
    expect(opened?.['socketId']).toEqual(expect.any(String));
    const closed = lines.find((l) => l['msg'] === 'connection closed');
    expect(closed?.['socketId']).toBe(opened?.['socketId']);
    const request = lines.find((l) => l['msg'] === 'request refused');
    expect(request).toMatchObject({ code: 'unauthorized' });
    expect(request?.['reqId']).toEqual(expect.any(String));
    // No line names the token or the key presented.
    expect(server.stdout()).not.toContain(token);
    expect(server.stdout()).not.toContain('not-a-key-of-this-server');
  });

  it('at info, a connection writes no line (a crowd of sockets must not flood the log)', async () => {
    const server = await start({ TETHER_LOG_FORMAT: 'json', TETHER_LOG_LEVEL: 'info' });
    const client = await connectClient(server.url, await server.token({ sub: 'bob', channels: ['*'] }));
    open.clients.push(client);
    await waitUntil(() =>
      jsonLines(server.stdout()).some((l) => l['msg'] === 'tether serve started') ? true : undefined,
    );
    expect(jsonLines(server.stdout()).filter((l) => String(l['msg']).startsWith('connection'))).toEqual([]);
  });

  it('refuses an unknown format in one line', async () => {
    await expect(start({ TETHER_LOG_FORMAT: 'xml' })).rejects.toThrow(/invalid TETHER_LOG_FORMAT 'xml'/);
  });
});

describe('pretty logs', () => {
  it('TETHER_LOG_FORMAT=pretty: pino-pretty lines, not JSON', async () => {
    const server = await start({ TETHER_LOG_FORMAT: 'pretty', TETHER_LOG_LEVEL: 'info' });
    const text = await waitUntil(() =>
      server.stdout().includes('tether serve started') ? server.stdout() : undefined,
    );
    const line = text.split('\n').find((l) => l.includes('tether listening'));
    expect(line).toMatch(/INFO.*tether listening/);
    expect(() => JSON.parse(line!)).toThrow();
    // No colours without a terminal.
    expect(text).not.toContain('\u001b[');
  });

  it('server.logFormat in the configuration file, and the variable wins over it', async () => {
    const pretty = await start({ TETHER_LOG_LEVEL: 'info' }, { server: { logFormat: 'pretty' } });
    await waitUntil(() => (pretty.stdout().includes('tether serve started') ? true : undefined));
    expect(pretty.stdout()).toMatch(/INFO.*tether listening/);

    const json = await start(
      { TETHER_LOG_LEVEL: 'info', TETHER_LOG_FORMAT: 'json' },
      { server: { logFormat: 'pretty' } },
    );
    await waitUntil(() => (json.stdout().includes('tether serve started') ? true : undefined));
    expect(jsonLines(json.stdout()).some((l) => l['msg'] === 'tether listening')).toBe(true);
  });

  it('auto without a terminal (a pipe, as in a container): JSON', async () => {
    const server = await start({ TETHER_LOG_FORMAT: 'auto', TETHER_LOG_LEVEL: 'info' });
    await waitUntil(() => (server.stdout().includes('tether serve started') ? true : undefined));
    expect(jsonLines(server.stdout()).some((l) => l['msg'] === 'tether listening')).toBe(true);
  });
});
