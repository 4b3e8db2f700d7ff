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

/**
 * Finds the API key, comparing digests in constant time so timing tells nothing of a key. A key
 * once found is remembered by the exact string presented, so the next request with it costs a Map
 * lookup instead of a SHA-256 and a comparison per key. Only keys that matched are remembered: at
 * most one entry per configured key, so unknown keys (an attacker's millions of random ones) never
 * grow it; each of them pays the full constant-time search.
 */
export class ApiKeyRing {
  private readonly keys: { digest: Buffer; key: ApiKey }[];
  private readonly found = new Map<string, ApiKey>();

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((key) => ({ digest: digest(key.key), key }));
  }

  find(presented: string): ApiKey {
    const known = this.found.get(presented);
    if (known !== undefined) return known;
    const candidate = digest(presented);
    let found: ApiKey | undefined;
    for (const { digest: expected, key } of this.keys) if (timingSafeEqual(expected, candidate)) found = key;
    if (!found) throw new TetherError(ErrorCode.Unauthorized, 'unknown API key');
    this.found.set(presented, found);
    return found;
  }

  /** Presented strings remembered (at most the number of keys): for tests and metrics. */
  get remembered(): number {
    return this.found.size;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
