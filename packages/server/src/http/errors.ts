import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, TetherError, httpStatusOf } from '@tether/protocol';

/** Maps fastify's own failures (body parsing, limits) onto our documented codes. */
export function toTetherError(err: FastifyError | TetherError | Error): TetherError {
  if (err instanceof TetherError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new TetherError(ErrorCode.PayloadTooLarge, 'body too large');
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new TetherError(ErrorCode.BadRequest, err.message, { cause: err });
  }
  return new TetherError(ErrorCode.Internal, 'internal error', { cause: err });
}

export function sendError(error: TetherError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === ErrorCode.Internal) request.log.error({ err: error.cause ?? error }, 'request failed');
  if (error.retryAfterMs !== undefined) void reply.header('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
  void reply.status(httpStatusOf[error.code]).send({ error: error.toJSON() });
}
