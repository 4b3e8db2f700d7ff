/**
 * The status machine: every change passes the one `setState` door and is emitted as
 * `{from, to, reason}`; `serverDown` after N failed attempts while retrying goes on.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import {
  ClientState,
  StatusReason,
  transitions,
  type ServerDownContext,
  type StatusChange,
  type TetherClient,
} from '@tether/client';
import { Clients, dropConnections, fast, sleep, statusLog } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Each change starts where the previous ended and is allowed by the table. */
function expectChained(log: StatusChange[]): void {
  let state: ClientState = ClientState.Disconnected;
  for (const change of log) {
    expect(change.from).toBe(state);
    expect(transitions[change.from]).toContain(change.to);
    expect(typeof change.message).toBe('string');
    state = change.to;
  }
}

describe('status', () => {
  it('connect, drop, reconnect, close: each change emitted once with from, to and a reason', async () => {
    const server = await bed.start();
    const client = clients.make({ url: server.url, token: await server.token('u1'), ...fast });
    const log = statusLog(client);
    const iterated: StatusChange[] = [];
    const iterating = (async () => {
      for await (const change of client.statusChanges()) iterated.push(change);
    })();
    expect(client.status).toBe(ClientState.Disconnected);
    await client.connect();
    dropConnections(server);
    await waitUntil(() => (client.metrics().connects === 2 ? true : undefined));
    await client.close();
    await iterating;

    expect(log.map(({ from, to, reason }) => ({ from, to, reason }))).toEqual([
      { from: 'disconnected', to: 'connecting', reason: StatusReason.ConnectCalled },
      { from: 'connecting', to: 'connected', reason: StatusReason.Connected },
      { from: 'connected', to: 'reconnecting', reason: StatusReason.TransportClose },
      { from: 'reconnecting', to: 'connected', reason: StatusReason.Connected },
      { from: 'connected', to: 'disconnected', reason: StatusReason.Closed },
    ]);
    expect(iterated).toEqual(log);
    expectChained(log);
    expect(client.metrics()).toMatchObject({
      connects: 2,
      reconnects: 1,
      failures: 1,
      lastFailureReason: 'transport_close',
    });
  });

  it('a server that shuts down gracefully: reconnecting, then connected to its successor on the same port', async () => {
    const first = await bed.start();
    const client = clients.make({ url: first.url, token: await first.token('u1'), ...fast });
    const log = statusLog(client);
    await client.connect();
    const secret = first.secret;
    const port = first.port;
    await bed.close();
    await waitUntil(() => (client.status === ClientState.Reconnecting ? true : undefined));
    await bed.start({ port, jwtSecret: secret });
    await waitUntil(() => (client.status === ClientState.Connected ? true : undefined), 5000);
    expectChained(log);
    expect(log.map((c) => c.to)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
  });

  it('serverDown after N failed attempts against a closed port; retrying goes on; it connects once a server is there', async () => {
    const port = await closedPort();
    const secret = 'a-test-secret-of-enough-length-1234';
    const helper = await bed.start({ jwtSecret: secret });
    const token = await helper.token('u1');
    await bed.close();

    const client: TetherClient = clients.make({
      url: `http://127.0.0.1:${port}`,
      token,
      ...fast,
      reconnect: { initialDelayMs: 20, maxDelayMs: 40 },
      serverDownAfterAttempts: 3,
    });
    const log = statusLog(client);
    const downs: ServerDownContext[] = [];
    client.on('serverDown', (c) => downs.push(c));
    void client.connect();
    await waitUntil(() => (downs.length > 0 ? true : undefined), 5000, 'serverDown');
    expect(downs).toEqual([{ attempts: 3 }]);
    await waitUntil(() => (client.metrics().failures >= 6 ? true : undefined), 5000, 'still retrying');
    expect(client.status).toBe(ClientState.Connecting);
    expect(downs).toHaveLength(1); // once per outage
    expect(client.metrics().lastFailureReason).toBe(StatusReason.TransportClose);

    await bed.start({ port, jwtSecret: secret });
    await waitUntil(() => (client.status === ClientState.Connected ? true : undefined), 5000, 'connected');
    expectChained(log);
    expect(log.map((c) => c.to)).toEqual(['connecting', 'connected']);
  });

  it('gives up with failed (max_attempts) after reconnect.maxAttempts, and connect() starts again', async () => {
    const port = await closedPort();
    const server = await bed.start();
    const client = clients.make({
      url: `http://127.0.0.1:${port}`,
      token: await server.token('u1'),
      ...fast,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 3 },
    });
    const log = statusLog(client);
    await expect(client.connect()).rejects.toThrow();
    expect(log.at(-1)).toMatchObject({ to: ClientState.Failed, reason: StatusReason.MaxAttempts });
    expect(client.metrics().failures).toBe(3);
    void client.connect().catch(() => {});
    expect(client.status).toBe(ClientState.Connecting);
    await sleep(10);
    expectChained(log);
  });
});
