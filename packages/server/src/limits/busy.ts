/**
 * "Too busy for one more handshake": while the event loop lags more than `busyLoopLagMs`, a new
 * connection would wait behind the work already queued, time out on the client's side and come
 * back, adding to the pile. Refusing it at once with `server_busy` and a retry hint costs next to
 * nothing and tells the client when to try again (the SDK adds jitter so they do not return together).
 */
import type { ExtendedError, Socket } from 'socket.io';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { StatsCounter } from '../delivery/stats.js';
import type { LoopLag } from '../delivery/loop-lag.js';

export interface BusyOptions {
  /** Lag above which handshakes are refused, ms; 0: never. */
  thresholdMs: number;
  retryAfterMs: number;
  lag: LoopLag;
  stats: StatsCounter;
}

export class BusySignal {
  constructor(private readonly o: BusyOptions) {}

  /** The refusal to answer a new connection with now, or undefined to let it in. */
  refusal(): TetherError | undefined {
    if (this.o.thresholdMs <= 0) return undefined;
    const lag = this.o.lag();
    if (lag <= this.o.thresholdMs) return undefined;
    this.o.stats.values.busyRefusals++;
    return serverBusy(`event loop ${Math.round(lag)} ms behind`, this.o.retryAfterMs);
  }

  /**
   * Socket.IO middleware for the handshakes the gate let in before the loop fell behind: refused
   * before the token is verified or anything is replayed, as `connect_error` with the hint.
   */
  middleware() {
    return refusalMiddleware(() => this.refusal());
  }
}

/** The `server_busy` refusal, with why and when to retry. */
export function serverBusy(why: string, retryAfterMs: number): TetherError {
  return new TetherError(ErrorCode.ServerBusy, `server busy (${why}); retry in ${retryAfterMs} ms`, { retryAfterMs });
}

/** Socket.IO middleware answering `connect_error` with `refusal()`'s error when it gives one. */
export function refusalMiddleware(refusal: () => TetherError | undefined) {
  return (_socket: Socket, next: (err?: ExtendedError) => void): void => {
    const error = refusal();
    if (!error) return next();
    const refused = new Error(error.message) as ExtendedError;
    refused.data = error.toJSON();
    next(refused);
  };
}
