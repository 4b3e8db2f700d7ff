/**
 * The one guard every entry point runs through: Socket.IO event handlers, the handshake middleware
 * and the HTTP routes (fastify's error handler). Whatever a handler throws or rejects with becomes
 * a documented error for that caller and a log line naming the caller; nothing escapes to the
 * event loop, where it would end the process.
 */
import type { FastifyError } from 'fastify';
import { ErrorCode, TetherError } from '@tether/protocol';

/** Who the failing work was for: named in the log line (fields left out when unknown). */
export interface Caller {
  socketId?: string;
  tenant?: string;
  sub?: string;
  deviceId?: string;
  ip?: string;
  /** HTTP method and path, or the socket event. */
  what?: string;
}

/** The part of a pino (or fastify) logger the guard writes to. */
export interface GuardLog {
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * The documented error for anything thrown. A TetherError is already one; fastify's own client
 * errors (body not JSON, wrong content type, body too large) are the caller's; anything else is a
 * server fault, `internal`.
 */
export function documentedError(err: unknown): TetherError {
  if (err instanceof TetherError) return err;
  const fastify = err as Partial<FastifyError> | undefined;
  if (fastify?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new TetherError(ErrorCode.PayloadTooLarge, 'body too large', { cause: err });
  }
  const status = fastify?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && err instanceof Error) {
    return new TetherError(ErrorCode.BadRequest, err.message, { cause: err });
  }
  return new TetherError(ErrorCode.Internal, 'internal error', { cause: err });
}

export class Guard {
  constructor(private readonly log: GuardLog) {}

  /**
   * Turns `err` into the caller's documented error and logs it: server faults at `error` (with
   * the original error), refusals of client input at `debug` (a flood must not flood the log).
   */
  refuse(err: unknown, caller: Caller, log: GuardLog = this.log): TetherError {
    const error = documentedError(err);
    if (error.code === ErrorCode.Internal) log.error({ err: error.cause ?? error, ...caller }, 'request failed');
    else log.debug({ code: error.code, reason: error.message, ...caller }, 'request refused');
    return error;
  }

  /**
   * Runs `work` (synchronous or not) and hands its result to `done`, or its failure, as a
   * documented error, to `failed`. A throw from `done` or `failed` themselves is logged, never
   * rethrown.
   */
  run<T>(
    caller: () => Caller,
    work: () => T | Promise<T>,
    done: (result: T) => void,
    failed: (err: TetherError) => void,
  ): void {
    const fail = (err: unknown): void => {
      const who = this.callerOf(caller);
      try {
        failed(this.refuse(err, who));
      } catch (secondary) {
        this.log.error({ err: secondary, ...who }, 'failure handler threw');
      }
    };
    const finish = (result: T): void => {
      try {
        done(result);
      } catch (err) {
        this.log.error({ err, ...this.callerOf(caller) }, 'result handler threw');
      }
    };
    let outcome: T | Promise<T>;
    try {
      outcome = work();
    } catch (err) {
      fail(err);
      return;
    }
    if (outcome instanceof Promise) outcome.then(finish, fail);
    else finish(outcome);
  }

  private callerOf(caller: () => Caller): Caller {
    try {
      return caller();
    } catch {
      return {};
    }
  }
}
