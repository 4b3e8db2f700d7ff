import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf, type TetherError } from '@tether/protocol';

/** Answers with the error's status and body; the guard has logged it. */
export function sendError(error: TetherError, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(httpStatusOf[error.code]).send({ error: error.toJSON() });
}
