/**
 * The user token: the current one, where a fresh one comes from, and when to get it. The SDK reads
 * the JWT's claims without verifying them (the server does that): `sub` names the inbox and the
 * storage namespace, `exp` schedules the refresh.
 */
import { DEFAULT_TENANT, ErrorCode, TetherError } from '@tether/protocol/wire';

export interface TokenClaims {
  sub: string;
  tenant: string;
  /** Seconds since the epoch. */
  exp?: number;
  iat?: number;
}

/** Decodes a JWT's payload (no verification). Throws `unauthorized` when it is not a JWT with a `sub`. */
export function decodeToken(token: string): TokenClaims {
  const payload = token.split('.')[1];
  let claims: unknown;
  try {
    if (payload === undefined) throw new Error('not a JWT');
    const base64 = payload
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new TetherError(ErrorCode.Unauthorized, 'the token is not a readable JWT', { cause: err });
  }
  const record = (typeof claims === 'object' && claims !== null ? claims : {}) as Record<string, unknown>;
  const { sub, tenant, exp, iat } = record;
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new TetherError(ErrorCode.Unauthorized, 'the token has no `sub` claim');
  }
  return {
    sub,
    tenant: typeof tenant === 'string' ? tenant : DEFAULT_TENANT,
    ...(typeof exp === 'number' ? { exp } : {}),
    ...(typeof iat === 'number' ? { iat } : {}),
  };
}

export class TokenSource {
  private token: string | undefined;
  private claims: TokenClaims | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    initial: string | undefined,
    private readonly getToken: (() => Promise<string> | string) | undefined,
    private readonly refreshMarginMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (initial !== undefined) this.adopt(initial);
  }

  /** True when a fresh token can be had (a `getToken` was given). */
  get refreshable(): boolean {
    return this.getToken !== undefined;
  }

  /** The claims of the current token; undefined before the first one. */
  get current(): TokenClaims | undefined {
    return this.claims;
  }

  /** True when the current token's `exp` has passed. */
  expired(): boolean {
    const exp = this.claims?.exp;
    return exp !== undefined && exp * 1000 <= this.now();
  }

  /**
   * A token to use now: the current one while it is not due for refresh, else a fresh one from
   * `getToken` (when there is no `getToken`, the current one, even if expired: the server says so).
   */
  async get(): Promise<string> {
    if (this.token !== undefined && (!this.getToken || this.msUntilRefresh() > 0)) return this.token;
    return this.fresh();
  }

  /** Asks `getToken` for a new token (one call at a time, shared by concurrent callers). */
  fresh(): Promise<string> {
    const getToken = this.getToken;
    if (!getToken) {
      if (this.token === undefined) return Promise.reject(new TetherError(ErrorCode.Unauthorized, 'no token'));
      return Promise.resolve(this.token);
    }
    if (!this.fetching) {
      const fetchToken = async (): Promise<string> => {
        const token = await getToken();
        if (typeof token !== 'string' || token.length === 0) {
          throw new TetherError(ErrorCode.Unauthorized, 'getToken() returned no token');
        }
        this.adopt(token);
        return token;
      };
      // Cleared in a later microtask: a getToken that throws synchronously must not leave a
      // settled promise behind that every later call would get.
      this.fetching = fetchToken().finally(() => (this.fetching = undefined));
    }
    return this.fetching;
  }

  /**
   * Milliseconds until the current token should be replaced: `refreshMarginMs` before `exp`, but
   * never earlier than 80 % of its life (a 60 s margin on a 30 s token would refresh at once).
   * Infinity for a token without `exp`.
   */
  msUntilRefresh(): number {
    const exp = this.claims?.exp;
    if (exp === undefined) return Infinity;
    const expMs = exp * 1000;
    const issuedMs = this.claims?.iat !== undefined ? this.claims.iat * 1000 : undefined;
    const life = issuedMs !== undefined ? expMs - issuedMs : Infinity;
    const margin = Math.min(this.refreshMarginMs, life * 0.2);
    return expMs - margin - this.now();
  }

  private adopt(token: string): void {
    this.claims = decodeToken(token);
    this.token = token;
  }
}
