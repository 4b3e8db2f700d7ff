/**
 * The rate limits and connection caps (defaults: docs/architecture.md §6), as one option group: `limits` in
 * `TetherServerOptions`, merged over `defaults.limits`. A limit of 0 turns that limit off.
 */

export interface LimitOptions {
  /** Connection attempts (Engine.IO handshakes) per client IP and second, before auth. Default 100. */
  connectionAttemptsPerSecondPerIp: number;
  /**
   * Attempts one IP may make in a burst: up to `burst − rate` more than the rate, once per 10 s.
   * Default 200. Must be ≥ the rate.
   */
  connectionAttemptBurstPerIp: number;
  /** Open connections (and upgrades in progress) from one client IP. Default 1000. */
  maxConnectionsPerIp: number;
  /** Open connections on this node. Default 20_000 (about what one process's file descriptors allow). */
  maxConnections: number;
  /** Client events per user per minute, cluster-wide with the Redis store (acks and probes not counted). Default 200. */
  eventsPerMinutePerUser: number;
  /** Client events per connection per minute, counted on its node alone. Default 200. */
  eventsPerMinutePerConnection: number;
  /**
   * A connection that goes on sending while refused, more than this many refused events in a
   * minute, is disconnected (an `error` frame with `rate_limited` first). Default 100; 0: never.
   */
  maxRefusalsPerConnection: number;
  /** `POST /v1/publish` requests per API key per second, cluster-wide with the Redis store. Default 1000. */
  httpPublishesPerSecondPerApiKey: number;
  /**
   * Requests with a user token (poll, ack, history, push targets, and the other `/v1` reads) per
   * user per minute, cluster-wide with the Redis store. Default 600.
   */
  httpRequestsPerMinutePerUser: number;
  /** Count what would be refused (stats, a debug log line) but refuse nothing. Default false. */
  dryRun: boolean;
}

const COUNTS = [
  'connectionAttemptsPerSecondPerIp',
  'connectionAttemptBurstPerIp',
  'maxConnectionsPerIp',
  'maxConnections',
  'eventsPerMinutePerUser',
  'eventsPerMinutePerConnection',
  'maxRefusalsPerConnection',
  'httpPublishesPerSecondPerApiKey',
  'httpRequestsPerMinutePerUser',
] as const;

/** Every key of the `limits` group (the counts and `dryRun`). */
export const LIMIT_KEYS: readonly (keyof LimitOptions)[] = [...COUNTS, 'dryRun'];

/**
 * Every limit off (`dryRun` off too): for servers whose clients are all trusted and local — test
 * servers and bench servers, whose thousands of clients come from 127.0.0.1 within seconds.
 */
export const noLimits: Readonly<LimitOptions> = Object.freeze({
  ...(Object.fromEntries(COUNTS.map((name) => [name, 0])) as Record<(typeof COUNTS)[number], number>),
  dryRun: false,
});

/** Fails fast with a TypeError naming the option, as `resolveOptions` does for the others. */
export function checkLimits(limits: LimitOptions): LimitOptions {
  for (const name of COUNTS) {
    const value = limits[name];
    if (!Number.isInteger(value) || value < 0) {
      throw new TypeError(`limits.${name} must be a whole number ≥ 0 (0 = no limit), got ${String(value)}`);
    }
  }
  if (typeof limits.dryRun !== 'boolean') throw new TypeError('limits.dryRun must be a boolean');
  const { connectionAttemptsPerSecondPerIp: rate, connectionAttemptBurstPerIp: burst } = limits;
  if (rate > 0 && burst < rate) {
    throw new TypeError(
      `limits.connectionAttemptBurstPerIp (${burst}) must be ≥ connectionAttemptsPerSecondPerIp (${rate})`,
    );
  }
  return limits;
}
