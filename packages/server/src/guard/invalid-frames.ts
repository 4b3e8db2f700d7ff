import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ErrorCode } from '@tether/protocol';

/** What `spendOrClose` needs of a connection's socket. */
export interface BudgetedSocket {
  readonly id: string;
  readonly connected: boolean;
  emit(event: 'error', frame: { code: string; message: string }): unknown;
  disconnect(close: boolean): unknown;
}

/** Refusals that mean the sender's frames are malformed (not a permission or a server problem). */
const INVALID: ReadonlySet<string> = new Set([
  ErrorCode.BadRequest,
  ErrorCode.InvalidChannel,
  ErrorCode.PayloadTooLarge,
]);

/**
 * Each connection may send `perMinute` invalid frames in any minute; the next one ends it. A
 * client with a bug stays usable; one that fuzzes the server is cut off. Keyed by socket id on
 * this node only: the budget is the connection's, not the user's.
 */
export class InvalidFrameBudget {
  private readonly limiter: RateLimiterMemory;

  constructor(perMinute: number) {
    this.limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  }

  static counts(code: string): boolean {
    return INVALID.has(code);
  }

  /** Spends one invalid frame of `socketId`'s budget; resolves false once the budget is gone. */
  async spend(socketId: string): Promise<boolean> {
    try {
      await this.limiter.consume(socketId);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  }

  /** Spends one of the socket's invalid frames; past its budget, tells it why and closes it. */
  spendOrClose(socket: BudgetedSocket, log: Logger, caller: () => object): void {
    this.spend(socket.id).then(
      (allowed) => {
        if (allowed || !socket.connected) return;
        log.warn(caller(), 'too many invalid frames; connection closed');
        socket.emit('error', {
          code: ErrorCode.TooManyInvalidFrames,
          message: 'too many invalid frames; connection closed',
        });
        socket.disconnect(true);
      },
      (err: unknown) => log.error({ err, ...caller() }, 'invalid-frame budget failed'),
    );
  }

  forget(socketId: string): void {
    void this.limiter.delete(socketId);
  }
}
