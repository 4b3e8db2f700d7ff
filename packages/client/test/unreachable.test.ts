/**
 * `reconnect.unreachableMaxDelayMs`: an attempt the server never answered (connection refused: a
 * server restarting) is retried under a short cap however many failed before, so the client is
 * back soon after the server listens again; an attempt that timed out (the server accepted and
 * did not answer: overload) still grows the backoff to `maxDelayMs`. Jitter off, so that every
 * delay is exactly its cap.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import { Clients, fast } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
const servers: net.Server[] = [];
afterEach(async () => {
  await clients.closeAll();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  await bed.close();
});

/** A port nothing listens on (yet): bound once on 127.0.0.1 and released. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Listens on `port` and forwards every connection to `target` (the server "back" on the old port). */
async function forward(port: number, target: number): Promise<void> {
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

describe('reconnect.unreachableMaxDelayMs', () => {
  it('refused attempts retry under the short cap, and the client is back soon after the server listens', async () => {
    const server = await bed.start();
    const port = await freePort();
    const client = clients.make({
      ...fast,
      url: `http://127.0.0.1:${port}`,
      token: await server.token('u1'),
      reconnect: { initialDelayMs: 20, maxDelayMs: 60_000, unreachableMaxDelayMs: 40, jitter: 'none' },
    });
    const connected = client.connect();
    // Without the cap the 12th delay alone would be 20 × 2^11 = 41 s.
    await waitUntil(() => client.metrics().failures >= 12 || undefined, 5000);
    const listenedAt = Date.now();
    await forward(port, server.port);
    await connected;
    expect(client.status).toBe('connected');
    expect(Date.now() - listenedAt).toBeLessThan(1000);
  });

  it('timed-out attempts still grow the backoff past it', async () => {
    // Accepts and never answers: each attempt ends at the connect timeout.
    const attemptsAt: number[] = [];
    const held = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      attemptsAt.push(Date.now());
      held.add(socket);
      socket.on('error', () => undefined);
    });
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const server = await bed.start();
    const client = clients.make({
      ...fast,
      url: `http://127.0.0.1:${port}`,
      token: await server.token('u1'),
      connectTimeoutMs: 50,
      reconnect: { initialDelayMs: 20, maxDelayMs: 60_000, unreachableMaxDelayMs: 20, jitter: 'none' },
    });
    void client.connect().catch(() => undefined);
    await waitUntil(() => attemptsAt.length >= 5 || undefined, 5000);
    // Delays 20, 40, 80, 160 after a 50 ms timeout each: the 4th gap is ~210 ms, not 50 + 20.
    const gap = attemptsAt[4]! - attemptsAt[3]!;
    expect(gap).toBeGreaterThanOrEqual(190);
    await clients.closeAll();
    for (const socket of held) socket.destroy();
  });
});
