/**
 * Verified tokens remembered by their text, so that a client reconnecting with the token it had
 * (every client after a restart) costs a map lookup instead of a signature check. Only successful
 * verifications are kept; an entry lives until the token's `exp` (never past it: after `exp` the
 * full check decides, with its clock skew) and at most `ttlMs`, which bounds how long a token
 * stays accepted after the key that signed it left the server's keys (JWKS rotation). Bounded in
 * entries and in bytes of token text; the oldest entries go first. Expired entries are swept by one
 * unref'd timer for the whole cache (running only while it holds entries), a bounded slice of the
 * entries per tick, so a server whose clients stay connected does not keep their token text past
 * its time.
 */
import type { TokenClaims, VerifyToken } from './verify-token.js';

export interface TokenCacheOptions {
  /** Entries at most; 0 turns the cache off. */
  maxEntries: number;
  /** Longest time an entry is trusted, ms. */
  ttlMs: number;
  /** Bytes of token text held at most (tokens are up to 8 KiB). Default 16 MiB. */
  maxBytes?: number;
  now?: () => number;
}

interface Entry {
  claims: TokenClaims;
  /** ms since the epoch: trusted before then. */
  until: number;
}

const DEFAULT_MAX_BYTES = 16 * 2 ** 20;
/** The sweep looks at this many entries per tick at most (a few µs), resuming where it stopped. */
const SWEEP_BATCH = 1024;
const SWEEP_EVERY_MS = 1000;

/** `verify` with a cache in front of it (or `verify` itself when `maxEntries` is 0). */
export function cachedTokenVerifier(verify: VerifyToken, options: TokenCacheOptions): VerifyToken {
  if (options.maxEntries <= 0) return verify;
  const cache = new TokenCache(options);
  return async (token) => {
    const hit = cache.get(token);
    if (hit) return hit;
    const claims = await verify(token);
    cache.set(token, claims);
    return claims;
  };
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** Where the sweep resumes (a Map iterator stays valid across deletions). */
  private cursor: IterableIterator<[string, Entry]> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TokenCacheOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(token: string): TokenClaims | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (this.now() < entry.until) return entry.claims;
    this.delete(token);
    return undefined;
  }

  set(token: string, claims: TokenClaims): void {
    const now = this.now();
    const until = Math.min(now + this.options.ttlMs, claims.exp === undefined ? Infinity : claims.exp * 1000);
    if (until <= now || token.length > this.maxBytes) return;
    this.delete(token);
    // Shared by every connection of this token: nobody may change them.
    Object.freeze(claims.channels);
    Object.freeze(claims.publish);
    this.entries.set(token, { claims: Object.freeze(claims), until });
    this.bytes += token.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS).unref();
  }

  /**
   * Drops the expired entries among the next `SWEEP_BATCH` (entries are not in expiry order: an
   * early `exp` may sit behind a later one). Stops the timer once the cache is empty.
   */
  sweep(): void {
    const now = this.now();
    for (let seen = 0; seen < SWEEP_BATCH; seen++) {
      this.cursor ??= this.entries.entries();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        break;
      }
      const [token, entry] = next.value;
      if (now >= entry.until) this.delete(token);
    }
    if (this.entries.size === 0) this.stopSweeping();
  }

  /** Forgets every entry (the key set changed). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.stopSweeping();
  }

  private stopSweeping(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.cursor = undefined;
  }

  private delete(token: string): void {
    if (this.entries.delete(token)) this.bytes -= token.length;
  }
}
