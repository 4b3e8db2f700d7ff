/** Shared pieces of the client tests: fast timings, a recording handler, the clients to close. */
import { afterEach } from 'vitest';
import type { Message } from '@tether/protocol';
import { TestBed, startFaultProxy, type FaultProxy, type TestServer } from '@tether/testing';
import { TetherClient, type ClientOptions, type StatusChange } from '@tether/client';

/** Timings scaled down so that a test takes seconds, not minutes; behaviour is the same. */
export const fast = {
  reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  ackIntervalMs: 100,
  positionSaveIntervalMs: 20,
  handlerRetry: { initialDelayMs: 50, maxDelayMs: 200 },
  fallback: { enabled: false },
} satisfies Partial<ClientOptions>;

/** Every client a test makes, closed after it. */
export class Clients {
  private readonly all: TetherClient[] = [];

  make(options: ClientOptions): TetherClient {
    const client = new TetherClient(options);
    this.all.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((c) => c.close()));
  }
}

/** A test's server, its clients and a fault proxy in front of the server. */
export class FaultBed {
  readonly bed = new TestBed();
  readonly clients = new Clients();
  private current: FaultProxy | undefined;

  /** A fault proxy in front of `server` (one per test), closed after the test. */
  async proxyTo(server: TestServer): Promise<FaultProxy> {
    this.current = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
    return this.current;
  }

  /** The proxy `proxyTo` made for this test. */
  get proxy(): FaultProxy {
    if (!this.current) throw new Error('FaultBed: call proxyTo() first');
    return this.current;
  }

  /** Clients first (they would reconnect through the proxy), then the proxy, then the server. */
  async close(): Promise<void> {
    await this.clients.closeAll();
    await this.current?.close();
    this.current = undefined;
    await this.bed.close();
  }
}

/** A `FaultBed` for the calling test file, closed after each of its tests. */
export function useFaultBed(): FaultBed {
  const faults = new FaultBed();
  afterEach(() => faults.close());
  return faults;
}

/** A handler that records what it handled, per channel, in order. */
export class Recorder {
  readonly handled: Message[] = [];

  readonly handler = (message: Message): void => {
    this.handled.push(message);
  };

  offsets(channel?: string): number[] {
    return this.handled.filter((m) => channel === undefined || m.channel === channel).map((m) => m.offset);
  }
}

/** Records every status change of a client. */
export function statusLog(client: TetherClient): StatusChange[] {
  const log: StatusChange[] = [];
  client.on('status', (change) => log.push(change));
  return log;
}

/**
 * Closes every socket's transport on the server side: to the client this is a network drop
 * (`transport close`), not a Socket.IO disconnect, so it must reconnect and resume.
 */
export function dropConnections(server: TestServer): number {
  let dropped = 0;
  for (const socket of server.server.io.sockets.sockets.values()) {
    socket.conn.close();
    dropped++;
  }
  return dropped;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
