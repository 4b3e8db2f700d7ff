/**
 * `tether serve` settings: a flag wins over its environment variable, which wins over the
 * configuration file (`--config` / `TETHER_CONFIG`), which wins over the default.
 * Every value is checked here, so that a typo fails at start with one clear line.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { withUsageErrors } from './args.js';
import { UsageError } from './errors.js';
import { parseServeAuthEnv, type ServeAuthConfig } from './serve-auth-config.js';
import { checkConfigFile } from '../config/check.js';
import type { LogFormat, TetherServerOptions } from '../options.js';
import { LOG_FORMATS } from '../log/logger.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ServeConfig {
  /** `--config` / `TETHER_CONFIG`: the configuration file read, if any. */
  configFile?: string;
  /** What the configuration file sets, as server options (flags and variables win over it). */
  fileOptions: TetherServerOptions;
  /** `--port` / `TETHER_PORT`. Default 8080; 0 picks a free port. */
  port: number;
  /**
   * `--host` / `TETHER_HOST`. Default `127.0.0.1`: a first start prints working dev credentials,
   * so it must not be reachable from the network until someone decides so (`0.0.0.0` in containers).
   */
  host: string;
  /** `--data-dir` / `TETHER_DATA_DIR`, absolute. Default `./data`. */
  dataDir: string;
  /** `--store` / `TETHER_STORE`: `memory`, `sqlite:PATH` or `redis://…`. Default `sqlite:<data-dir>/tether.db`. */
  store: string;
  /** `TETHER_LOG_LEVEL`. Default `info`. */
  logLevel: string;
  /** `TETHER_LOG_FORMAT`: `json`, `pretty` or `auto` (pretty when stdout is a terminal). Default `auto`. */
  logFormat: LogFormat;
  /** `TETHER_JWT_SECRET`. Default: the dev secret of `<data-dir>/secrets.json`. */
  jwtSecret?: string;
  /** `TETHER_API_KEY`. Default: the dev key of `<data-dir>/secrets.json`. */
  apiKey?: string;
  /** `TETHER_ADMIN_KEY`: one more admin key (`/v1/stats`, `/v1/trace`, the dashboard). Default none. */
  adminKey?: string;
  /**
   * `TETHER_HEAD_CHECK_MS`: in a cluster, how often each node compares its active channels with the
   * store's head and epoch (the server's `headCheckIntervalMs`). Default: the server's, 5000.
   */
  headCheckIntervalMs?: number;
  /** Public keys, JWKS URL, issuer, audience, max token lifetime (`TETHER_JWT_*`, `TETHER_JWKS_URL`). */
  auth: ServeAuthConfig;
  /** `TETHER_NODE_ID`: with `redis://`, this node's id in the cluster (stable across restarts: alerts see it come back). Default: host-pid-random. */
  nodeId?: string;
  /** `TETHER_CLUSTER_HEARTBEAT_MS`: with `redis://`, the node heartbeat; a node unseen for 3 is gone. Default 5000. */
  clusterHeartbeatMs?: number;
  /** `TETHER_MAX_QUEUED_BYTES`: the server's `maxQueuedBytes` (a socket is cut past it). Default: the server's, 4 MiB. */
  maxQueuedBytes?: number;
  /** `TETHER_MAX_BATCH_BYTES`: the server's `maxBatchBytes` (replay batch, poll answer). Default: the server's, 1 MiB. */
  maxBatchBytes?: number;
}

export const serveDefaults = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: './data',
  logLevel: 'info',
  logFormat: 'auto',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const serveOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  store: { type: 'string' },
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Returns undefined when `--help` was asked for. */
export function parseServeArgs(argv: readonly string[], env: Env): ServeConfig | undefined {
  const { values } = withUsageErrors('serve', () =>
    parseArgs({ args: [...argv], options: serveOptions, strict: true }),
  );
  if (values.help) return undefined;
  const configFile = values.config ?? nonEmpty(env['TETHER_CONFIG']);
  const file = configFile === undefined ? undefined : checkConfigFile(configFile);
  const fromFile = file?.server ?? {};
  const dataDir = path.resolve(
    values['data-dir'] ?? nonEmpty(env['TETHER_DATA_DIR']) ?? fromFile.dataDir ?? serveDefaults.dataDir,
  );
  const port = values.port ?? nonEmpty(env['TETHER_PORT']) ?? fromFile.port?.toString() ?? String(serveDefaults.port);
  const store = values.store ?? nonEmpty(env['TETHER_STORE']) ?? fromFile.store;
  const config: ServeConfig = {
    fileOptions: file?.options ?? {},
    port: parsePort(port),
    host: values.host ?? nonEmpty(env['TETHER_HOST']) ?? fromFile.host ?? serveDefaults.host,
    dataDir,
    store: parseStoreSpec(store ?? `sqlite:${path.join(dataDir, 'tether.db')}`),
    logLevel: parseLogLevel(nonEmpty(env['TETHER_LOG_LEVEL']) ?? fromFile.logLevel ?? serveDefaults.logLevel),
    logFormat: parseLogFormat(nonEmpty(env['TETHER_LOG_FORMAT']) ?? fromFile.logFormat ?? serveDefaults.logFormat),
    auth: parseServeAuthEnv(env),
  };
  if (configFile !== undefined) config.configFile = configFile;
  const jwtSecret = nonEmpty(env['TETHER_JWT_SECRET']) ?? file?.options.jwtSecret?.toString();
  const apiKey = nonEmpty(env['TETHER_API_KEY']);
  if (jwtSecret !== undefined) config.jwtSecret = jwtSecret;
  if (apiKey !== undefined) config.apiKey = apiKey;
  const adminKey = nonEmpty(env['TETHER_ADMIN_KEY']);
  if (adminKey !== undefined) config.adminKey = adminKey;
  const headCheck = nonEmpty(env['TETHER_HEAD_CHECK_MS']);
  if (headCheck !== undefined) config.headCheckIntervalMs = parseMs('TETHER_HEAD_CHECK_MS', headCheck);
  const nodeId = nonEmpty(env['TETHER_NODE_ID']);
  if (nodeId !== undefined) {
    if (!/^[\w.:-]{1,128}$/.test(nodeId)) {
      throw new UsageError('serve', `invalid TETHER_NODE_ID '${nodeId}' (letters, digits, . _ : -, at most 128)`);
    }
    config.nodeId = nodeId;
  }
  const heartbeat = nonEmpty(env['TETHER_CLUSTER_HEARTBEAT_MS']);
  if (heartbeat !== undefined) config.clusterHeartbeatMs = parseMs('TETHER_CLUSTER_HEARTBEAT_MS', heartbeat);
  const maxQueuedBytes = nonEmpty(env['TETHER_MAX_QUEUED_BYTES']);
  if (maxQueuedBytes !== undefined) config.maxQueuedBytes = parseBytes('TETHER_MAX_QUEUED_BYTES', maxQueuedBytes);
  const maxBatchBytes = nonEmpty(env['TETHER_MAX_BATCH_BYTES']);
  if (maxBatchBytes !== undefined) config.maxBatchBytes = parseBytes('TETHER_MAX_BATCH_BYTES', maxBatchBytes);
  return config;
}

/** A whole number of bytes, at least 1024. */
function parseBytes(name: string, text: string): number {
  const bytes = Number(text);
  if (!/^\d+$/.test(text) || bytes < 1024 || !Number.isSafeInteger(bytes)) {
    throw new UsageError('serve', `invalid ${name} '${text}' (expected a whole number of bytes, at least 1024)`);
  }
  return bytes;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new UsageError('serve', `invalid port '${text}' (expected 0 to 65535)`);
  }
  return port;
}

/** A whole number of milliseconds, at least 10 (a smaller period would keep Redis busy). */
function parseMs(name: string, text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 10 || ms > 3_600_000) {
    throw new UsageError('serve', `invalid ${name} '${text}' (expected milliseconds, 10 to 3600000)`);
  }
  return ms;
}

/** `memory`, `sqlite:PATH` (PATH made absolute so that logs say where the data is) or a Redis URL (a cluster). */
export function parseStoreSpec(spec: string): string {
  if (spec === 'memory') return spec;
  if (/^rediss?:\/\/./.test(spec)) return spec;
  if (spec.startsWith('sqlite:') && spec.length > 'sqlite:'.length) {
    return `sqlite:${path.resolve(spec.slice('sqlite:'.length))}`;
  }
  throw new UsageError('serve', `invalid store '${spec}' (expected memory, sqlite:PATH or redis://HOST:PORT)`);
}

function parseLogLevel(level: string): string {
  if (!LOG_LEVELS.includes(level)) {
    throw new UsageError('serve', `invalid TETHER_LOG_LEVEL '${level}' (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return level;
}

function parseLogFormat(format: string): LogFormat {
  const known = LOG_FORMATS.find((f) => f === format);
  if (known === undefined) {
    throw new UsageError('serve', `invalid TETHER_LOG_FORMAT '${format}' (expected one of ${LOG_FORMATS.join(', ')})`);
  }
  return known;
}

/** An empty variable (`TETHER_PORT=`) counts as unset, as shells and compose files often leave them. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
