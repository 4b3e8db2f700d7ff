/**
 * One client connection through the fault proxy and its upstream connection to the target. Bytes
 * go through two pipes (client → server, server → client); the client's side is followed as HTTP
 * so that requests can be blocked by path. Half-closes are forwarded as they come.
 */
import net from 'node:net';
import { HttpRequestTracker } from './fault-proxy-http.js';
import { Pipe } from './fault-proxy-pipe.js';

export type BlockMode = 'reset' | 'blackhole';

export interface ConnectionHooks {
  target: { host: string; port: number };
  maxQueuedBytes: number;
  delayMs: () => number;
  countUp: (bytes: number) => void;
  countDown: (bytes: number) => void;
  /** How a request to this path is blocked; undefined when it passes. */
  pathBlock: (path: string) => BlockMode | undefined;
  /** True while some path is blocked: incomplete request heads are then held back until judged. */
  filtering: () => boolean;
  /** Takes over a client socket black-holed by path (the connection forgets it). */
  hold: (client: net.Socket) => void;
  pathBlocked: () => void;
  upstreamFailed: () => void;
  /** The connection is over: both sockets are gone or handed over. */
  closed: (connection: ProxiedConnection) => void;
}

export class ProxiedConnection {
  readonly upstream: net.Socket;
  private readonly up: Pipe;
  private readonly down: Pipe;
  private readonly http = new HttpRequestTracker();
  /** Client bytes held back while a request head is incomplete and a path filter is on. */
  private pending: Buffer[] = [];
  private stalled = false;
  /** Closes and errors seen while stalled: a stall hides them from the other side until resume. */
  private deferred: (() => void)[] = [];
  private clientClosed = false;
  private upstreamClosed = false;
  /** The client socket was handed to the proxy (black hole): leave it alone. */
  private detached = false;
  private done = false;

  constructor(
    readonly client: net.Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    this.upstream = net.connect({ host: hooks.target.host, port: hooks.target.port, allowHalfOpen: true });
    client.setNoDelay(true);
    this.upstream.setNoDelay(true);
    const pipe = (from: net.Socket, to: net.Socket, counted: (n: number) => void): Pipe =>
      new Pipe(from, to, { delayMs: hooks.delayMs, counted, maxQueuedBytes: hooks.maxQueuedBytes });
    this.up = pipe(client, this.upstream, hooks.countUp);
    this.down = pipe(this.upstream, client, hooks.countDown);

    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    this.upstream.on('data', (chunk: Buffer) => this.down.write(chunk));
    client.on('end', () => this.up.end());
    this.upstream.on('end', () => this.down.end());
    // Errors end in 'close' (with hadError), handled there; a listener keeps them from throwing.
    client.on('error', () => undefined);
    this.upstream.on('error', () => {
      if (this.upstream.bytesRead === 0 && this.upstream.bytesWritten === 0) hooks.upstreamFailed();
    });
    client.on('close', (hadError: boolean) => this.sideClosed('client', hadError));
    this.upstream.on('close', (hadError: boolean) => this.sideClosed('upstream', hadError));
    // The server accepted with pauseOnConnect: start reading now that someone listens.
    client.resume();
  }

  /** The path of the last HTTP request seen from the client (undefined when not HTTP). */
  get path(): string | undefined {
    return this.http.lastPath;
  }

  /** Drops both sides at once with RST, as a lost network does; nothing queued is delivered. */
  reset(): void {
    if (this.done) return;
    if (!this.detached) resetSocket(this.client);
    resetSocket(this.upstream);
  }

  stall(): void {
    this.stalled = true;
    this.up.stall();
    this.down.stall();
  }

  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.up.resume();
    this.down.resume();
    for (const action of this.deferred.splice(0)) action();
  }

  private fromClient(chunk: Buffer): void {
    const paths = this.http.push(chunk);
    for (const path of paths) {
      const mode = this.hooks.pathBlock(path);
      if (mode) {
        this.blockByPath(mode);
        return;
      }
    }
    if (this.hooks.filtering() && this.http.midHead) {
      this.pending.push(chunk);
      return;
    }
    for (const held of this.pending.splice(0)) this.up.write(held);
    this.up.write(chunk);
  }

  private blockByPath(mode: BlockMode): void {
    this.hooks.pathBlocked();
    this.pending = [];
    if (mode === 'reset') {
      this.reset();
      return;
    }
    // Black hole: the server never hears of it; the client is held by the proxy, silent.
    this.client.removeAllListeners('data');
    this.client.removeAllListeners('end');
    this.client.removeAllListeners('close');
    this.client.pause();
    this.detached = true;
    this.clientClosed = true;
    this.hooks.hold(this.client);
    resetSocket(this.upstream);
  }

  private sideClosed(side: 'client' | 'upstream', hadError: boolean): void {
    if (side === 'client') this.clientClosed = true;
    else this.upstreamClosed = true;
    if (this.detached) {
      this.finish();
      return;
    }
    const other = side === 'client' ? this.upstream : this.client;
    const toOther = side === 'client' ? this.up : this.down;
    const propagate = (): void => {
      if (hadError) {
        resetSocket(other);
      } else {
        // Everything the closed side sent is handed on, then the other side has nobody to talk to.
        toOther.end();
        if (other.writableFinished || other.destroyed) other.destroy();
        else other.once('finish', () => other.destroy());
      }
    };
    if (this.stalled) this.deferred.push(propagate);
    else propagate();
    if (this.clientClosed && this.upstreamClosed) this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.up.dispose();
    this.down.dispose();
    this.deferred = [];
    this.hooks.closed(this);
  }
}

/** RST when the socket is connected; a plain destroy while it is still connecting or already gone. */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.readyState === 'closed') socket.destroy();
  else socket.resetAndDestroy();
}
