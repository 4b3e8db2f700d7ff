/**
 * The door in front of Engine.IO: every new connection attempt on the Socket.IO path (a WebSocket
 * upgrade or a polling handshake, i.e. a request without `sid`) is counted per client IP and
 * checked against the per-IP and per-node caps of open connections *before* Engine.IO sees it, so
 * a refused attempt allocates no session at all. A refusal is HTTP 429 with `Retry-After` and the
 * `rate_limited` error body, or 503 and `server_busy` while the event loop lags (limits/busy.ts)
 * or too many handshakes are in progress (limits/handshakes.ts).
 * Requests of an existing session (`sid`) pass untouched.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ErrorCode, TetherError, httpStatusOf } from '@tether/protocol';
import type { BusySignal } from './busy.js';
import type { HandshakeAdmission } from './handshakes.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { TrustedProxies } from './client-ip.js';
import type { LimitOptions } from './limit-options.js';
import type { RateLimit } from './rate-limit.js';
import { forgetUpgradeResponse } from './first-request.js';

/** The retry hint when a cap (not a rate) refused: connections come and go at about this pace. */
const CAP_RETRY_MS = 5000;

type Listener = (...args: unknown[]) => void;

/** The client IP an upgraded socket is counted under, kept on the socket until it closes. */
const HELD_IP = Symbol('tether.gate.ip');
type HeldSocket = Duplex & { [HELD_IP]?: string | undefined };

function ignoreError(): void {}

export interface ConnectionGateDeps {
  busy: BusySignal;
  /** Handshakes in progress: a new one is refused with `server_busy` over the cap. */
  handshakes: HandshakeAdmission;
  limits: LimitOptions;
  proxies: TrustedProxies;
  /** Connection attempts per IP (memory: each node guards its own sessions). */
  attempts: RateLimit;
  stats: StatsCounter;
  log: Logger;
  /** The Socket.IO path, e.g. `/socket.io`. */
  path: string;
}

/** What an engine connection needs from Engine.IO: its request and its end. */
interface EngineConnection {
  request: http.IncomingMessage;
  once(event: 'close', listener: () => void): unknown;
}

export class ConnectionGate {
  private readonly openPerIp = new Map<string, number>();
  private open = 0;
  /** Polling handshakes admitted whose Engine.IO session is not known yet: its release. */
  private readonly pending = new WeakMap<http.IncomingMessage, () => void>();

  /**
   * Open connections are counted only when a cap needs them: uncounting an upgraded socket takes a
   * third `close` listener on it, which grows its listener array by 144 B for the socket's life.
   */
  private readonly counting: boolean;

  constructor(private readonly deps: ConnectionGateDeps) {
    this.counting = deps.limits.maxConnections > 0 || deps.limits.maxConnectionsPerIp > 0;
  }

  /**
   * Puts the gate in front of the listeners Socket.IO attached to `server` (call after creating
   * the Socket.IO server), and learns from `engine` when polling sessions end.
   */
  attach(
    server: http.Server,
    engine: { on(event: 'connection', listener: (socket: EngineConnection) => void): unknown },
  ): void {
    const upgrades = server.listeners('upgrade').slice() as Listener[];
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const onPath = this.isOnPath(req);
      const forward = (): void => {
        const closeListeners = socket.listenerCount('close');
        for (const listener of upgrades) listener.call(server, req, socket, head);
        // Engine.IO's upgrade response would hold the request for the socket's life (first-request.ts).
        if (onPath) forgetUpgradeResponse(socket, closeListeners);
      };
      if (!onPath || !this.isNewSession(req)) return forward();
      // A peer gone during the check must not throw. Shared listeners that capture nothing: they
      // stay on the socket for its life, and a closure here would keep the upgrade's request and
      // head buffer with them.
      socket.on('error', ignoreError);
      void this.admit(req).then((refusal) => {
        if (refusal) return refuseUpgrade(socket, refusal);
        if (this.counting) {
          const ip = this.deps.proxies.clientIpOf(req);
          this.count(ip);
          (socket as HeldSocket)[HELD_IP] = ip;
          socket.on('close', this.releaseSocket);
        }
        forward();
        // Engine.IO's WebSocket server guards the socket now (it listens for `error` at once): ours
        // would keep a two-listener array on every socket for its life.
        if (socket.listenerCount('error') > 1) socket.removeListener('error', ignoreError);
      });
    });

    const requests = server.listeners('request').slice() as Listener[];
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const forward = (): void => {
        for (const listener of requests) listener.call(server, req, res);
      };
      if (!this.isNewSession(req)) return forward();
      void this.admit(req).then((refusal) => {
        if (refusal) return refuseRequest(res, refusal);
        if (!this.counting) return forward();
        const release = this.hold(this.deps.proxies.clientIpOf(req));
        this.pending.set(req, release);
        // No session came of it (refused by Engine.IO, bad transport): release when the answer is done.
        res.once('close', () => {
          if (this.pending.get(req) !== release) return;
          this.pending.delete(req);
          release();
        });
        forward();
      });
    });
    engine.on('connection', (socket) => {
      const release = this.pending.get(socket.request);
      if (!release) return;
      this.pending.delete(socket.request);
      socket.once('close', release);
    });
  }

  /** A request on the Socket.IO path. */
  private isOnPath(req: http.IncomingMessage): boolean {
    return (req.url ?? '').startsWith(this.deps.path);
  }

  /** A request on the Socket.IO path that would start a new Engine.IO session. */
  private isNewSession(req: http.IncomingMessage): boolean {
    if (!this.isOnPath(req)) return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    return query < 0 || !new URLSearchParams(url.slice(query + 1)).has('sid');
  }

  /** Resolves a refusal, or undefined to let the attempt through (also in dry-run mode). */
  private async admit(req: http.IncomingMessage): Promise<TetherError | undefined> {
    const { limits, stats, log } = this.deps;
    // Before anything is counted: a busy refusal burns none of the IP's attempts.
    const busy = this.deps.busy.refusal() ?? this.deps.handshakes.refusal();
    if (busy) return busy;
    const ip = this.deps.proxies.clientIpOf(req);
    let refusal: TetherError | undefined;
    const attempt = await this.deps.attempts.consume(ip);
    if (attempt) {
      stats.values.rateLimited.connectionAttempts++;
      refusal = rateLimited(`too many connection attempts from ${ip}`, attempt.retryAfterMs);
    } else if (limits.maxConnections > 0 && this.open >= limits.maxConnections) {
      stats.values.rateLimited.concurrentConnections++;
      refusal = rateLimited(`this node has ${limits.maxConnections} connections open`, CAP_RETRY_MS);
    } else if (limits.maxConnectionsPerIp > 0 && (this.openPerIp.get(ip) ?? 0) >= limits.maxConnectionsPerIp) {
      stats.values.rateLimited.concurrentConnections++;
      refusal = rateLimited(`${limits.maxConnectionsPerIp} connections open from ${ip}`, CAP_RETRY_MS);
    }
    if (!refusal) return undefined;
    if (limits.dryRun) {
      log.debug({ ip, reason: refusal.message }, 'connection would be refused (limits.dryRun)');
      return undefined;
    }
    return refusal;
  }

  /** Counts an open connection of `ip`; the returned function uncounts it (once). */
  private hold(ip: string): () => void {
    this.count(ip);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.uncount(ip);
    };
  }

  private count(ip: string): void {
    this.open++;
    this.openPerIp.set(ip, (this.openPerIp.get(ip) ?? 0) + 1);
  }

  private uncount(ip: string): void {
    this.open--;
    const left = (this.openPerIp.get(ip) ?? 1) - 1;
    if (left > 0) this.openPerIp.set(ip, left);
    else this.openPerIp.delete(ip);
  }

  /** An upgraded socket closed: its IP is uncounted. One listener for every socket (`this`: the socket). */
  private readonly releaseSocket = ((gate: ConnectionGate) =>
    function (this: HeldSocket): void {
      const ip = this[HELD_IP];
      if (ip === undefined) return;
      this[HELD_IP] = undefined;
      gate.uncount(ip);
    })(this);
}

function rateLimited(message: string, retryAfterMs: number): TetherError {
  return new TetherError(ErrorCode.RateLimited, message, { retryAfterMs });
}

function retryAfterSeconds(error: TetherError): string {
  return String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)));
}

function refuseUpgrade(socket: Duplex, error: TetherError): void {
  if (socket.writable) {
    const body = JSON.stringify({ error: error.toJSON() });
    const status = httpStatusOf[error.code];
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
        `Retry-After: ${retryAfterSeconds(error)}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}

function refuseRequest(res: http.ServerResponse, error: TetherError): void {
  if (res.headersSent) return void res.end();
  res.writeHead(httpStatusOf[error.code], {
    'Retry-After': retryAfterSeconds(error),
    'Content-Type': 'application/json',
  });
  res.end(JSON.stringify({ error: error.toJSON() }));
}
