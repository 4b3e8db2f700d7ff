/** The `metrics` option (docs/operations.md, "Monitoring"; defaults in docs/architecture.md §6). */
export interface MetricsOptions {
  /** Collect metrics and serve them. Default true. */
  enabled?: boolean;
  /** The path Prometheus scrapes. Default `/metrics`. */
  path?: string;
  /**
   * Serve the metrics on their own port, without a key (bind it to a private interface). Default
   * none: on the server's own port, for an admin key (`adminKeys`) as `Authorization: Bearer`.
   */
  port?: number;
  /** The interface of `port`. Default `127.0.0.1`. */
  host?: string;
  /** Also export Node's default metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC). Default true. */
  nodeMetrics?: boolean;
  /** Distinct channel namespaces (the part of a channel before the first `:`) labelled at most; the rest are `other`. Default 100. */
  maxNamespaces?: number;
  /** The delivery summary's success window: a delivery counts as a success when acked this soon after its publish, ms. Default 10_000. */
  successWindowMs?: number;
}

export type ResolvedMetricsOptions = Required<Omit<MetricsOptions, 'port'>> & Pick<MetricsOptions, 'port'>;

export const metricsDefaults: ResolvedMetricsOptions = {
  enabled: true,
  path: '/metrics',
  host: '127.0.0.1',
  nodeMetrics: true,
  maxNamespaces: 100,
  successWindowMs: 10_000,
};

/** Merges over the defaults; a TypeError names the option that makes no sense. */
export function resolveMetricsOptions(options: MetricsOptions = {}): ResolvedMetricsOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...metricsDefaults, ...defined } as ResolvedMetricsOptions;
  if (typeof o.enabled !== 'boolean') throw new TypeError('metrics.enabled must be a boolean');
  if (typeof o.path !== 'string' || !/^\/[^?#\s]*$/.test(o.path)) throw new TypeError('metrics.path must start with /');
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65_535))
    throw new TypeError(`metrics.port must be a port number (0–65535), got ${o.port}`);
  if (!Number.isInteger(o.maxNamespaces) || o.maxNamespaces < 1)
    throw new TypeError(`metrics.maxNamespaces must be a whole number ≥ 1, got ${o.maxNamespaces}`);
  if (!Number.isFinite(o.successWindowMs) || o.successWindowMs <= 0)
    throw new TypeError(`metrics.successWindowMs must be a positive number, got ${o.successWindowMs}`);
  return o;
}
