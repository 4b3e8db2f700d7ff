import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, TetherError } from '@tether/protocol';
import type { ApiKey } from '../options.js';

/** The `Authorization: Bearer …` value, or `unauthorized`. */
export function bearerOf(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw new TetherError(ErrorCode.Unauthorized, 'missing `Authorization: Bearer <credential>` header');
  return match[1];
}

/** Finds the API key, comparing digests in constant time so timing tells nothing of a key. */
export class ApiKeyRing {
  private readonly keys: { digest: Buffer; key: ApiKey }[];

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((key) => ({ digest: digest(key.key), key }));
  }

  find(presented: string): ApiKey {
    const candidate = digest(presented);
    let found: ApiKey | undefined;
    for (const { digest: known, key } of this.keys) if (timingSafeEqual(known, candidate)) found = key;
    if (!found) throw new TetherError(ErrorCode.Unauthorized, 'unknown API key');
    return found;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
