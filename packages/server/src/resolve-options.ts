import { defaults, type DashboardOptions, type ResolvedOptions, type TetherServerOptions } from './options.js';
import { checkAuthOptions } from './auth/check-auth-options.js';
import { checkLimits } from './limits/limit-options.js';
import { TrustedProxies } from './limits/client-ip.js';
import { resolveMetricsOptions } from './metrics/options.js';

const POSITIVE = [
  'ackTimeoutMs',
  'retryAckTimeoutMs',
  'retryDelayMs',
  'pruneIntervalMs',
  'headCheckIntervalMs',
  'presenceLeaseMs',
  'maxPayloadBytes',
  'maxChannelsPerConnection',
  'replayBatchSize',
  'recentPerChannel',
  'broadcastChunkSize',
  'broadcastSliceMs',
  'pingIntervalMs',
  'pingTimeoutMs',
  'maxQueuedBytes',
  'maxBatchBytes',
  'maxRedeliveryBytesPerSweep',
  'redeliveryMaxLoopLagMs',
  'connectTimeoutMs',
  'listenBacklog',
  'tokenCacheTtlMs',
  'busyRetryAfterMs',
  'statsIntervalMs',
] as const;

/** Merges options over `defaults` and fails fast, with a TypeError naming the option, on nonsense. */
export function resolveOptions(options: TetherServerOptions): ResolvedOptions {
  checkAuthOptions(options);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = {
    ...defaults,
    ...defined,
    retention: { ...defaults.retention, ...options.retention },
    dashboard: checkDashboard({ ...defaults.dashboard, ...definedOnly(options.dashboard ?? {}) }),
    limits: checkLimits({ ...defaults.limits, ...definedOnly(options.limits ?? {}) }),
    logger: options.logger ?? { level: 'info' },
    metrics: resolveMetricsOptions(options.metrics),
    now: options.now ?? Date.now,
  } as ResolvedOptions;
  for (const name of POSITIVE) {
    const value = resolved[name];
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number, got ${value}`);
  }
  const { probePort } = resolved;
  if (probePort !== undefined && !(Number.isInteger(probePort) && probePort >= 0 && probePort <= 65_535)) {
    throw new TypeError(`probePort must be a port number (0–65535), got ${probePort}`);
  }
  if (!Number.isInteger(resolved.maxRetries) || resolved.maxRetries < 0) {
    throw new TypeError(`maxRetries must be a whole number ≥ 0, got ${resolved.maxRetries}`);
  }
  if (!Number.isFinite(resolved.redeliveryBackoff) || resolved.redeliveryBackoff < 1) {
    throw new TypeError(`redeliveryBackoff must be a number ≥ 1, got ${resolved.redeliveryBackoff}`);
  }
  for (const name of [
    'maxDataDepth',
    'maxInvalidFramesPerMinute',
    'priorityLookahead',
    'maxHistoryLimit',
    'sqliteCheckpointPages',
  ] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a whole number ≥ 1, got ${value}`);
  }
  if (resolved.maxQueuedBytes < 2 * resolved.maxBatchBytes) {
    throw new TypeError('maxQueuedBytes must be at least twice maxBatchBytes (a replay batch plus live traffic)');
  }
  for (const name of [
    'tokenCacheSize',
    'busyLoopLagMs',
    'replayCacheBytes',
    'maxHandshakesInProgress',
    'sqliteCheckpointIntervalMs',
  ] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 0)
      throw new TypeError(`${name} must be a whole number ≥ 0 (0 = off), got ${value}`);
  }
  if (!(resolved.maxPollWaitSeconds >= 0)) throw new TypeError('maxPollWaitSeconds must be ≥ 0');
  if (typeof resolved.allowPollingTransport !== 'boolean')
    throw new TypeError('allowPollingTransport must be a boolean');
  checkDeflate(resolved.perMessageDeflate);
  if (!Array.isArray(resolved.trustedProxies)) throw new TypeError('trustedProxies must be a list of addresses');
  new TrustedProxies(resolved.trustedProxies); // throws a TypeError naming a bad entry
  for (const key of resolved.apiKeys) {
    if (typeof key.key !== 'string' || key.key.length < 16) throw new TypeError('each API key must be ≥ 16 characters');
  }
  if (!Array.isArray(resolved.adminKeys)) throw new TypeError('adminKeys must be a list of keys');
  for (const key of resolved.adminKeys) {
    if (typeof key !== 'string' || key.length < 16)
      throw new TypeError('adminKeys: each admin key must be ≥ 16 characters');
  }
  if (typeof resolved.now !== 'function') throw new TypeError('now must be a function returning ms since the epoch');
  checkRelevance(resolved.relevance);
  return resolved;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A `scope` scopes `supersededBy`: alone it would do nothing, which is surely a mistake. */
function checkRelevance(rules: ResolvedOptions['relevance']): void {
  for (const [type, rule] of Object.entries(rules)) {
    if (rule.scope === undefined) continue;
    if (typeof rule.scope !== 'string' || rule.scope === '')
      throw new TypeError(`relevance['${type}'].scope must be a dotted path into data, or 'collapseKey'`);
    if (!rule.supersededBy) throw new TypeError(`relevance['${type}'].scope needs supersededBy (it scopes it)`);
  }
}

/** The dashboard's path is one or more path segments, not a path of Tether's own. */
function checkDashboard(dashboard: DashboardOptions): DashboardOptions {
  if (typeof dashboard.enabled !== 'boolean') throw new TypeError('dashboard.enabled must be a boolean');
  const { path } = dashboard;
  if (typeof path !== 'string' || !/^(\/[A-Za-z0-9_.~-]+)+$/.test(path)) {
    throw new TypeError(`dashboard.path must be a path such as /dashboard, got ${JSON.stringify(path)}`);
  }
  if (/^\/(v1|healthz|readyz)(\/|$)/.test(path))
    throw new TypeError(`dashboard.path ${path} is one of Tether's own paths`);
  return dashboard;
}

function checkDeflate(value: unknown): void {
  if (typeof value === 'boolean') return;
  const threshold = (value as { threshold?: unknown } | null)?.threshold;
  const keys = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  const wellFormed =
    keys.every((k) => k === 'threshold') &&
    (threshold === undefined || (Number.isInteger(threshold) && Number(threshold) >= 0));
  if (typeof value !== 'object' || value === null || !wellFormed) {
    throw new TypeError('perMessageDeflate must be true, false or { threshold: bytes ≥ 0 }');
  }
}
