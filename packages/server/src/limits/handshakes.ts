/**
 * Admission by the number of handshakes in progress. After a restart thousands of clients come
 * back within seconds; each accepted handshake joins its channels and replays what it missed.
 * Accepted all at once, those replays hold the loop in long turns (`/healthz` waits behind them)
 * and the last clients time out and come back later, at a longer backoff. A handshake is in
 * progress from its `connection` (token verified) until its connection has resumed every channel
 * of its handshake, or it closed; while `max` are, a new connection is refused at the gate (503)
 * or, if its transport got in before, in the handshake (`connect_error`), with `server_busy` and
 * a retry hint. Only authenticated handshakes count: a flood of silent upgrades cannot fill it.
 */
import type { Socket } from 'socket.io';
import type { TetherError } from '@tether/protocol';
import type { StatsCounter } from '../delivery/stats.js';
import { refusalMiddleware, serverBusy } from './busy.js';

export interface HandshakeAdmissionOptions {
  /** Handshakes in progress at most; 0: no cap. */
  max: number;
  /** The retry hint of a refusal, ms. */
  retryAfterMs: number;
  stats: StatsCounter;
}

export class HandshakeAdmission {
  private inProgress = 0;
  private readonly held = new WeakSet<Socket>();

  constructor(private readonly o: HandshakeAdmissionOptions) {}

  /** The refusal to answer a new connection with now, or undefined to admit it. */
  refusal(): TetherError | undefined {
    if (this.o.max <= 0 || this.inProgress < this.o.max) return undefined;
    this.o.stats.values.busyRefusals++;
    return serverBusy(`${this.inProgress} handshakes in progress`, this.o.retryAfterMs);
  }

  /** Socket.IO middleware for transports the gate let in before the cap was reached. */
  middleware() {
    return refusalMiddleware(() => this.refusal());
  }

  /** Counts the handshake of `socket` (on `connection`) until `done(socket)`. */
  begin(socket: Socket): void {
    if (this.held.has(socket)) return;
    this.held.add(socket);
    this.o.stats.values.handshakesInProgress = ++this.inProgress;
  }

  /** The handshake of `socket` is over (resumed, or the socket closed); counted once. */
  done(socket: Socket): void {
    if (!this.held.delete(socket)) return;
    this.o.stats.values.handshakesInProgress = --this.inProgress;
  }
}
