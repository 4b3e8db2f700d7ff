/**
 * Admission by the number of handshakes in progress. After a restart thousands of clients come
 * back within seconds; each admitted handshake costs a WebSocket upgrade, a token check, the
 * joins and the replay of what it missed. Admitted all at once they hold the loop in long turns
 * (`/healthz` waits behind them) and the last ones time out on the client's side and come back
 * later, at a longer backoff. A handshake is in progress from the gate's admission until its
 * connection has resumed every channel of its handshake (or its transport closed); while
 * `max` are, a new one is refused at once with `server_busy` and a retry hint: a refusal costs an
 * HTTP parse and 150 bytes, and the client comes back when the queue has moved.
 */
import type http from 'node:http';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { StatsCounter } from '../delivery/stats.js';

export interface HandshakeAdmissionOptions {
  /** Handshakes in progress at most; 0: no cap. */
  max: number;
  /** The retry hint of a refusal, ms. */
  retryAfterMs: number;
  stats: StatsCounter;
}

export class HandshakeAdmission {
  private inProgress = 0;
  /** The handshakes in progress, by the request that began them (Engine.IO's `socket.request`). */
  private readonly held = new WeakSet<http.IncomingMessage>();

  constructor(private readonly o: HandshakeAdmissionOptions) {}

  /** The refusal to answer a new handshake with now, or undefined to admit it. */
  refusal(): TetherError | undefined {
    if (this.o.max <= 0 || this.inProgress < this.o.max) return undefined;
    this.o.stats.values.busyRefusals++;
    return new TetherError(
      ErrorCode.ServerBusy,
      `server busy (${this.inProgress} handshakes in progress); retry in ${this.o.retryAfterMs} ms`,
      { retryAfterMs: this.o.retryAfterMs },
    );
  }

  /** Counts the handshake `req` began, until `done(req)`. */
  begin(req: http.IncomingMessage): void {
    if (this.held.has(req)) return;
    this.held.add(req);
    this.o.stats.values.handshakesInProgress = ++this.inProgress;
  }

  /** The handshake of `req` is over (resumed, refused, or its transport closed); once per `begin`. */
  done(req: http.IncomingMessage): void {
    if (!this.held.delete(req)) return;
    this.o.stats.values.handshakesInProgress = --this.inProgress;
  }
}
