import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf, type TetherError } from '@tether/protocol';

/** Answers with the error's status and body (and `Retry-After` for a limit); the guard has logged it. */
export function sendError(error: TetherError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.retryAfterMs !== undefined) void reply.header('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
  void reply.status(httpStatusOf[error.code]).send({ error: error.toJSON() });
}
