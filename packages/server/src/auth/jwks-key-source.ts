/**
 * Keys from a JWKS URL. jose's `createRemoteJWKSet` does the fetching (timeout, status and shape
 * checks); the caching decisions are made here because jose's own ones fall short on two points:
 * a failed reload does not start its cooldown (a storm of unknown `kid`s against a failing JWKS
 * server asks it again and again), and once its set is older than `cacheMaxAge` every verification
 * awaits a reload and fails with it, although the last good set is still at hand.
 *
 * Here: the set is fetched on first use; an unknown `kid` fetches again, at most once per cooldown
 * (successful or not); a set older than the maximum age is refreshed in the background while the
 * old one keeps answering; a failed or hanging fetch keeps the last good set.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';

export interface JwksKeySourceOptions {
  url: URL;
  /** Least time between two fetches, successful or not (unknown `kid`s and retries after a failure). */
  cooldownMs: number;
  /** Age after which the set is refreshed in the background. */
  cacheMaxAgeMs: number;
  /** A fetch taking longer fails (and the last good set stays). */
  timeoutMs: number;
  /** Told about each failed fetch (for the log). */
  onFetchError?: (err: unknown) => void;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export class JwksKeySource {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly now: () => number;
  private local: LocalSet | undefined;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: JwksKeySourceOptions) {
    this.now = options.now ?? Date.now;
    this.remote = createRemoteJWKSet(options.url, {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
    });
  }

  /** A jose key-resolving function for `jwtVerify`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): ReturnType<LocalSet> => {
    if (!this.local) await this.refetch();
    else if (this.now() - this.fetchedAt >= this.options.cacheMaxAgeMs) void this.refetch();
    const local = this.local;
    if (!local) throw new joseErrors.JWKSNoMatchingKey('no JWKS could be fetched yet');
    try {
      return await local(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      // An unknown `kid`: perhaps a key the issuer has just added.
      await this.refetch();
      if (this.local === local) throw err;
      return this.local!(header, token);
    }
  };

  /** Fetches the set unless a fetch ran or is running within the cooldown; never throws. */
  private refetch(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.now() - this.attemptedAt < this.options.cooldownMs) return Promise.resolve();
    this.attemptedAt = this.now();
    this.inFlight = this.remote
      .reload()
      .then(
        () => {
          const jwks = this.remote.jwks();
          if (!jwks) return;
          this.local = createLocalJWKSet(jwks);
          this.fetchedAt = this.now();
        },
        (err: unknown) => this.options.onFetchError?.(err),
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
