/**
 * A TCP proxy on 127.0.0.1 in front of a server, with the faults a network has: drop every
 * connection (`cut`), refuse or swallow new ones (`block`), freeze live ones without either end
 * noticing (`stall`: half-open), add latency (`delay`), and refuse only some HTTP paths
 * (`blockPath('/socket.io/')` while `/v1/*` passes). Clients connect to `proxy.url` instead of the
 * server's. Every socket it touches is its own; `close()` leaves none behind.
 */
import net from 'node:net';
import { ProxiedConnection, resetSocket, type BlockMode } from './fault-proxy-connection.js';
import { DEFAULT_WAIT_MS, waitUntil } from './wait.js';
import { listenLoopback } from './listen.js';

export type { BlockMode } from './fault-proxy-connection.js';

export interface FaultProxyOptions {
  /** The server to forward to. */
  target: { host: string; port: number };
  /** Connections proxied (plus held) at once; more are reset. Default 2000. */
  maxConnections?: number;
  /** Bytes waiting per direction (under `delay`) before reading from the sender pauses. Default 1 MiB. */
  maxQueuedBytes?: number;
}

export interface BlockOptions {
  /**
   * `reset` (default): accept and send RST at once, like a closed port (the client fails fast).
   * `blackhole`: accept and never answer or forward, like a dropped route (the client times out).
   */
  mode?: BlockMode;
}

export interface BlockPathOptions extends BlockOptions {
  /** Also drop live connections whose last request was to this path (a live WebSocket). Default true. */
  cutExisting?: boolean;
}

export interface FaultProxyStats {
  /** Connections accepted since start (proxied, refused and held alike). */
  accepted: number;
  /** Proxied connections open now. */
  active: number;
  /** Client sockets held open without forwarding now (black hole). */
  held: number;
  /** Connections reset on arrival (`block` in reset mode, or over `maxConnections`). */
  refused: number;
  /** Connections dropped by `cut()`. */
  cut: number;
  /** Requests refused or swallowed by `blockPath`. */
  pathBlocked: number;
  /** Connections to the target that failed before any byte moved. */
  upstreamFailed: number;
  /** Bytes forwarded client → server. */
  bytesUp: number;
  /** Bytes forwarded server → client. */
  bytesDown: number;
}

type HoldReason = 'block' | 'path';

export class FaultProxy {
  private readonly live = new Set<ProxiedConnection>();
  private readonly held = new Map<net.Socket, HoldReason>();
  private readonly blockedPaths = new Map<string, BlockMode>();
  private blockMode: BlockMode | undefined;
  private delayMs = 0;
  private closing: Promise<void> | undefined;
  private readonly counts = {
    accepted: 0,
    refused: 0,
    cut: 0,
    pathBlocked: 0,
    upstreamFailed: 0,
    bytesUp: 0,
    bytesDown: 0,
  };

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly options: Required<FaultProxyOptions>,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1, port 0. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    // pauseOnConnect: nothing is read from a connection before it is judged (block, hold, proxy).
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const port = await listenLoopback(server, 'startFaultProxy');
    return new FaultProxy(server, port, {
      target: options.target,
      maxConnections: options.maxConnections ?? 2000,
      maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
    });
  }

  /** `http://127.0.0.1:PORT`: where clients connect instead of the server. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Proxied connections open now. */
  get connections(): number {
    return this.live.size;
  }

  stats(): FaultProxyStats {
    return { ...this.counts, active: this.live.size, held: this.held.size };
  }

  /**
   * Drops every current connection at once, both sides, with RST: each end sees ECONNRESET, as
   * when a NAT or a mobile network forgets the flow. New connections go through as before.
   * Returns how many were dropped.
   */
  cut(): number {
    const connections = [...this.live];
    for (const connection of connections) {
      connection.reset();
      // Counted as gone now, not a tick later when 'close' arrives.
      this.live.delete(connection);
    }
    const held = [...this.held.keys()];
    for (const socket of held) this.dropHeld(socket);
    this.counts.cut += connections.length + held.length;
    return connections.length + held.length;
  }

  /** New connections are refused (`reset`, the default) or swallowed (`blackhole`) until `unblock()`. */
  block(options: BlockOptions = {}): void {
    this.blockMode = options.mode ?? 'reset';
  }

  /** New connections go through again; ones held by the black hole are reset (their clients gave up). */
  unblock(): void {
    this.blockMode = undefined;
    this.releaseHeld('block');
  }

  /**
   * HTTP requests whose path starts with `prefix` are refused (`reset`, the default) or swallowed
   * (`blackhole`); others pass. Judged per request on keep-alive connections; a WebSocket is judged
   * by its upgrade request. By default live connections last used for such a path are cut too.
   */
  blockPath(prefix: string, options: BlockPathOptions = {}): void {
    this.blockedPaths.set(prefix, options.mode ?? 'reset');
    if (options.cutExisting === false) return;
    for (const connection of [...this.live]) {
      if (connection.path?.startsWith(prefix)) {
        this.counts.pathBlocked++;
        connection.reset();
      }
    }
  }

  /** Lets `prefix` (every prefix when absent) through again; requests it held are reset. */
  unblockPath(prefix?: string): void {
    if (prefix === undefined) this.blockedPaths.clear();
    else this.blockedPaths.delete(prefix);
    if (this.blockedPaths.size === 0) this.releaseHeld('path');
  }

  /**
   * Stops forwarding in both directions on the connections open now, without closing them: no
   * byte, FIN or RST passes, so neither end's TCP notices (a half-open connection, found only by
   * application heartbeats). Connections opened later are not stalled (combine with `block`).
   */
  stall(): void {
    for (const connection of this.live) connection.stall();
  }

  /** Forwards again on stalled connections, including what was held back (closes too). */
  resume(): void {
    for (const connection of this.live) connection.resume();
  }

  /** Adds `ms` of latency to every chunk arriving from now on, both directions; 0 removes it. */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`FaultProxy.delay: ms must be >= 0, got ${ms}`);
    this.delayMs = ms;
  }

  /** Resolves once `connections === count`; rejects after `timeoutMs`. */
  async waitForConnections(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await waitUntil(() => (this.live.size === count ? true : undefined), timeoutMs, `${count} proxied connections`);
  }

  /** Stops listening and resets every socket it holds; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const connection of [...this.live]) connection.reset();
      for (const socket of [...this.held.keys()]) this.dropHeld(socket);
    });
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    this.counts.accepted++;
    socket.on('error', () => undefined);
    if (this.closing) {
      resetSocket(socket);
    } else if (this.blockMode === 'blackhole') {
      this.hold(socket, 'block');
    } else if (this.blockMode === 'reset' || this.live.size + this.held.size >= this.options.maxConnections) {
      this.counts.refused++;
      resetSocket(socket);
    } else {
      this.proxy(socket);
    }
  }

  private proxy(socket: net.Socket): void {
    const connection = new ProxiedConnection(socket, {
      target: this.options.target,
      maxQueuedBytes: this.options.maxQueuedBytes,
      delayMs: () => this.delayMs,
      countUp: (bytes) => (this.counts.bytesUp += bytes),
      countDown: (bytes) => (this.counts.bytesDown += bytes),
      pathBlock: (path) => this.pathBlock(path),
      filtering: () => this.blockedPaths.size > 0,
      hold: (client) => this.hold(client, 'path'),
      pathBlocked: () => this.counts.pathBlocked++,
      upstreamFailed: () => this.counts.upstreamFailed++,
      closed: (done) => this.live.delete(done),
    });
    this.live.add(connection);
  }

  private pathBlock(path: string): BlockMode | undefined {
    for (const [prefix, mode] of this.blockedPaths) if (path.startsWith(prefix)) return mode;
    return undefined;
  }

  /** Keeps a socket open, unread and unanswered, until released, cut or closed by its client. */
  private hold(socket: net.Socket, reason: HoldReason): void {
    if (this.held.size >= this.options.maxConnections) {
      this.counts.refused++;
      resetSocket(socket);
      return;
    }
    socket.pause();
    socket.on('error', () => undefined);
    socket.once('close', () => this.held.delete(socket));
    this.held.set(socket, reason);
  }

  private releaseHeld(reason: HoldReason): void {
    for (const [socket, why] of [...this.held]) if (why === reason) this.dropHeld(socket);
  }

  /** Forgets at once (stats must not wait for 'close'), then resets. */
  private dropHeld(socket: net.Socket): void {
    this.held.delete(socket);
    resetSocket(socket);
  }
}

/** Starts a fault proxy on 127.0.0.1 port 0 in front of `target`. */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return FaultProxy.start(options);
}
