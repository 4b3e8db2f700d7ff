import type { z } from 'zod';
import { ErrorCode, TetherError } from './errors.js';

type Issue = z.core.$ZodIssue;

/**
 * The issues that say what is wrong: a bad record key (`positions`, `acks`) is reported by zod as
 * one `invalid_key` issue wrapping the key's own issues, so those are unwrapped.
 */
function leafIssues(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) =>
    issue.code === 'invalid_key' && issue.issues.length > 0 ? leafIssues(issue.issues) : [issue],
  );
}

/**
 * Parses `input` with `schema`; a failure becomes a TetherError with a code callers can rely on
 * (`invalid_channel` when only a channel or tenant name is wrong — a value or a record key — else
 * `bad_request`).
 */
export function parseFrame<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const leaves = leafIssues(issues);
  const onlyChannel =
    leaves.length > 0 &&
    leaves.every((i) => i.message === 'invalid channel name' || i.message === 'invalid tenant name');
  const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
  const code = onlyChannel ? ErrorCode.InvalidChannel : ErrorCode.BadRequest;
  return fail(code, `invalid ${what}${where}: ${leaves[0]?.message ?? first?.message ?? 'malformed'}`);
}

function fail(code: ErrorCode, message: string): never {
  throw new TetherError(code, message);
}
