/**
 * A TCP load balancer for tests: listens on 127.0.0.1 (port 0) in front of several targets and
 * sends each new connection to the next target in turn, skipping one that refuses or does not
 * answer (a dead node), like an L4 balancer without sticky sessions. Bytes and half-closes are
 * passed as they come; when one side resets or dies, the other side is reset too. Every socket it
 * touches is its own; `close()` leaves none behind.
 */
import net from 'node:net';
import { resetSocket } from './fault-proxy-connection.js';
import { DEFAULT_WAIT_MS, waitUntil } from './wait.js';
import { listenLoopback } from './listen.js';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface RoundRobinProxyOptions {
  /** Where connections go, in turn. A number is a port on 127.0.0.1. */
  targets: ReadonlyArray<ProxyTarget | number>;
  /** Longest wait for a target to accept before the next one is tried. Default 1000. */
  connectTimeoutMs?: number;
}

export interface RoundRobinProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Proxied connections open now. */
  active: number;
  /** Connections handed to each target since start (index as in `targets`). */
  perTarget: number[];
  /** Connection attempts to a target that failed (refused, timed out), each skipped. */
  skipped: number;
  /** Client connections reset because no target accepted them. */
  refused: number;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  target: number;
}

export class RoundRobinProxy {
  private readonly targets: ProxyTarget[];
  private readonly live = new Set<Link>();
  /** Client sockets waiting for a target to accept. */
  private readonly connecting = new Set<net.Socket>();
  private next = 0;
  private closing: Promise<void> | undefined;
  private readonly counts: Omit<RoundRobinProxyStats, 'active' | 'perTarget'> = { accepted: 0, skipped: 0, refused: 0 };
  private readonly perTarget: number[];
  private readonly connectTimeoutMs: number;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    options: RoundRobinProxyOptions,
  ) {
    this.targets = options.targets.map((t) => (typeof t === 'number' ? { host: '127.0.0.1', port: t } : { ...t }));
    this.perTarget = this.targets.map(() => 0);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
    if (options.targets.length === 0) throw new TypeError('startRoundRobinProxy: at least one target');
    // pauseOnConnect: nothing is read from a client before its upstream is connected.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const port = await listenLoopback(server, 'startRoundRobinProxy');
    return new RoundRobinProxy(server, port, options);
  }

  /** `http://127.0.0.1:PORT`: where clients connect instead of a node. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Proxied connections open now. */
  get connections(): number {
    return this.live.size;
  }

  /** Proxied connections open now, per target. */
  activePerTarget(): number[] {
    const out = this.targets.map(() => 0);
    for (const link of this.live) out[link.target]! += 1;
    return out;
  }

  stats(): RoundRobinProxyStats {
    return { ...this.counts, active: this.live.size, perTarget: [...this.perTarget] };
  }

  /** Resets every open connection, both sides (each end sees ECONNRESET). Returns how many. */
  cut(): number {
    const links = [...this.live];
    for (const link of links) this.drop(link);
    return links.length;
  }

  /** Resets the open connections to one target only (as if that node's network went away). */
  cutTarget(index: number): number {
    const links = [...this.live].filter((l) => l.target === index);
    for (const link of links) this.drop(link);
    return links.length;
  }

  /** Resolves once `connections === count`; rejects after `timeoutMs`. */
  async waitForConnections(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await waitUntil(() => (this.live.size === count ? true : undefined), timeoutMs, `${count} proxied connections`);
  }

  /** Stops listening and resets every socket it holds; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const link of [...this.live]) this.drop(link);
      for (const socket of [...this.connecting]) resetSocket(socket);
      this.connecting.clear();
    });
    return this.closing;
  }

  private accept(client: net.Socket): void {
    this.counts.accepted++;
    client.on('error', () => undefined);
    if (this.closing) {
      resetSocket(client);
      return;
    }
    this.connecting.add(client);
    client.once('close', () => this.connecting.delete(client));
    const first = this.next;
    this.next = (this.next + 1) % this.targets.length;
    this.tryTarget(client, first, 0);
  }

  /** Tries target `(first + tried) % n`; on failure the next one, until every target was tried. */
  private tryTarget(client: net.Socket, first: number, tried: number): void {
    if (client.destroyed || this.closing) {
      resetSocket(client);
      return;
    }
    if (tried >= this.targets.length) {
      this.counts.refused++;
      this.connecting.delete(client);
      resetSocket(client);
      return;
    }
    const index = (first + tried) % this.targets.length;
    const target = this.targets[index]!;
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    let settled = false;
    const fail = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      upstream.destroy();
      this.counts.skipped++;
      this.tryTarget(client, first, tried + 1);
    };
    const timer = setTimeout(fail, this.connectTimeoutMs);
    upstream.once('error', fail);
    upstream.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      upstream.off('error', fail);
      this.connecting.delete(client);
      if (client.destroyed || this.closing) {
        resetSocket(upstream);
        resetSocket(client);
        return;
      }
      this.link(client, upstream, index);
    });
  }

  private link(client: net.Socket, upstream: net.Socket, target: number): void {
    const link: Link = { client, upstream, target };
    this.live.add(link);
    this.perTarget[target]! += 1;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.on('error', () => undefined);
    // pipe() forwards an end (FIN) as end(), keeps backpressure, and resumes the paused client.
    client.pipe(upstream);
    upstream.pipe(client);
    let closed = 0;
    const onClose = (hadError: boolean, other: net.Socket): void => {
      // An error (RST, a killed process) resets the other side; a clean close lets it finish.
      if (hadError) resetSocket(other);
      else if (!other.destroyed) other.end();
      if (++closed === 2) this.live.delete(link);
    };
    client.once('close', (hadError) => onClose(hadError, upstream));
    upstream.once('close', (hadError) => onClose(hadError, client));
  }

  private drop(link: Link): void {
    // Counted as gone now, not a tick later when 'close' arrives.
    this.live.delete(link);
    resetSocket(link.client);
    resetSocket(link.upstream);
  }
}

/** Starts a round-robin proxy on 127.0.0.1 port 0 in front of `targets`. */
export function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  return RoundRobinProxy.start(options);
}
