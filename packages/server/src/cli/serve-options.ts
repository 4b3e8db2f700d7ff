/**
 * The server options of `tether serve`, in order of precedence: flag > environment variable >
 * configuration file > the server's defaults (docs/operations.md §1). `ServeConfig` already holds
 * the flags and variables; the file's options are its `fileOptions`.
 */
import type { ApiKey, TetherServerOptions } from '../options.js';
import type { ServeConfig } from './serve-config.js';
import type { LimitSettings } from './limits-env.js';

export interface ServeSecrets {
  /** The JWT secret to accept, if any (env, file, or the dev secret). */
  jwtSecret?: string;
  /** `TETHER_API_KEY`, or the dev key when neither it nor the file's `apiKeys` is given. */
  apiKey?: string;
}

export function serveOptionsOf(config: ServeConfig, secrets: ServeSecrets, env: LimitSettings): TetherServerOptions {
  const file = config.fileOptions;
  const apiKeys: ApiKey[] = [...(file.apiKeys ?? [])];
  if (secrets.apiKey !== undefined) apiKeys.push({ key: secrets.apiKey, tenant: '*' });
  const options: TetherServerOptions = {
    ...file,
    store: config.store,
    ...config.auth,
    apiKeys,
    logger: { level: config.logLevel, format: config.logFormat },
    ...env,
  };
  delete options.jwtSecret;
  if (secrets.jwtSecret !== undefined) options.jwtSecret = secrets.jwtSecret;
  if (file.limits !== undefined || env.limits !== undefined) options.limits = { ...file.limits, ...env.limits };
  // The variable's key is added to the file's (a short one is refused by the server's option check).
  if (config.adminKey !== undefined) options.adminKeys = [...(file.adminKeys ?? []), config.adminKey];
  if (config.headCheckIntervalMs !== undefined) options.headCheckIntervalMs = config.headCheckIntervalMs;
  if (/^rediss?:\/\//.test(config.store) && (config.nodeId ?? config.clusterHeartbeatMs) !== undefined) {
    options.cluster = {
      redisUrl: config.store,
      ...(config.nodeId !== undefined && { nodeId: config.nodeId }),
      ...(config.clusterHeartbeatMs !== undefined && { heartbeatMs: config.clusterHeartbeatMs }),
    };
  }
  if (config.maxQueuedBytes !== undefined) options.maxQueuedBytes = config.maxQueuedBytes;
  if (config.maxBatchBytes !== undefined) options.maxBatchBytes = config.maxBatchBytes;
  return options;
}

/** True when the file or the environment names public keys or a JWKS URL. */
export function hasExternalKeys(config: ServeConfig): boolean {
  const { auth, fileOptions } = config;
  return (
    auth.jwtPublicKeys !== undefined ||
    auth.jwksUrl !== undefined ||
    (fileOptions.jwtPublicKeys?.length ?? 0) > 0 ||
    fileOptions.jwksUrl !== undefined
  );
}
