import type { z } from 'zod';
import { ErrorCode, TetherError } from './errors.js';

/**
 * Parses `input` with `schema`; a failure becomes a TetherError with a code callers can rely on
 * (`invalid_channel` when only the channel name is wrong, else `bad_request`).
 */
export function parseFrame<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const onlyChannel =
    issues.length > 0 &&
    issues.every((i) => i.message === 'invalid channel name' || i.message === 'invalid tenant name');
  const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
  const code = onlyChannel ? ErrorCode.InvalidChannel : ErrorCode.BadRequest;
  return fail(code, `invalid ${what}${where}: ${first?.message ?? 'malformed'}`);
}

function fail(code: ErrorCode, message: string): never {
  throw new TetherError(code, message);
}
