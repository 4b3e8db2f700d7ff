/**
 * OAuth2 access tokens for FCM from a service account: the JWT-bearer grant (RFC 7523, Google's
 * "OAuth 2.0 for server to server applications"). An RS256 assertion `{iss: client_email, scope,
 * aud: token_uri, iat, exp}` is posted as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * and answered `{access_token, expires_in, token_type: "Bearer"}`. The token is reused until
 * shortly before it expires; concurrent sends share one request for a new one.
 */
import { SignJWT } from 'jose';
import type { PushOutcome } from './provider.js';
import type { LoadedServiceAccount } from './fcm-service-account.js';
import { retryAfterMs } from './retry-after.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google's limit on an assertion's lifetime. */
const ASSERTION_LIFETIME_SECONDS = 3600;
/** A token this close to its expiry is replaced before use (google-auth-library's margin too). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** Getting a token failed: what the send comes to (`retry` when the endpoint was down, `failed` when it refused). */
export class FcmTokenError extends Error {
  constructor(
    message: string,
    readonly outcome: Exclude<PushOutcome, { result: 'sent' } | { result: 'gone' }>,
  ) {
    super(message);
    this.name = 'FcmTokenError';
  }
}

interface CachedToken {
  accessToken: string;
  expiresAt: number;
}

export class FcmAccessTokens {
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly account: LoadedServiceAccount,
    private readonly tokenUri: string,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** A token valid for at least the refresh margin; fetches one when there is none. */
  get(): Promise<string> {
    const cached = this.cached;
    if (cached && this.now() < cached.expiresAt - TOKEN_REFRESH_MARGIN_MS) return Promise.resolve(cached.accessToken);
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** FCM refused `token` (401): forget it, so that the next `get` asks for a new one. */
  invalidate(token: string): void {
    if (this.cached?.accessToken === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const issuedAt = Math.floor(this.now() / 1000);
    const header: { alg: 'RS256'; typ: 'JWT'; kid?: string } = { alg: 'RS256', typ: 'JWT' };
    if (this.account.privateKeyId !== undefined) header.kid = this.account.privateKeyId;
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader(header)
      .setIssuer(this.account.clientEmail)
      .setAudience(this.tokenUri)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
      .sign(this.account.key);
    let response: Response;
    try {
      response = await fetch(this.tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const message = `fcm token: ${this.tokenUri} unreachable: ${(err as Error).message}`;
      throw new FcmTokenError(message, { result: 'retry', afterMs: undefined, error: message });
    }
    const text = await response.text();
    if (!response.ok) {
      // Google answers `{error, error_description}` (e.g. invalid_grant "Invalid JWT Signature.").
      const message = `fcm token: ${response.status} ${describeOAuthError(text)}`;
      if (response.status === 429 || response.status >= 500) {
        const afterMs = retryAfterMs(response.headers.get('retry-after'), this.now());
        throw new FcmTokenError(message, { result: 'retry', afterMs, error: message });
      }
      throw new FcmTokenError(message, { result: 'failed', error: message });
    }
    const body = parseTokenResponse(text);
    if (!body) {
      const message = `fcm token: unreadable answer from ${this.tokenUri}`;
      throw new FcmTokenError(message, { result: 'retry', afterMs: undefined, error: message });
    }
    this.cached = { accessToken: body.accessToken, expiresAt: this.now() + body.expiresInSeconds * 1000 };
    return body.accessToken;
  }
}

function parseTokenResponse(text: string): { accessToken: string; expiresInSeconds: number } | undefined {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const { access_token: accessToken, expires_in: expiresIn } = json;
    if (typeof accessToken !== 'string' || accessToken.length === 0) return undefined;
    return { accessToken, expiresInSeconds: typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 3600 };
  } catch {
    return undefined;
  }
}

function describeOAuthError(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof json.error === 'string') {
      return typeof json.error_description === 'string' ? `${json.error}: ${json.error_description}` : json.error;
    }
  } catch {
    // not JSON: show the start of it
  }
  return text.slice(0, 200);
}
