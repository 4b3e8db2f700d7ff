/** `tether serve`: resolve settings and secrets, start the server, print the banner, wait for a signal. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { issueToken } from '../auth/issue-token.js';
import { makeLogger } from '../log/logger.js';
import { defaults } from '../options.js';
import { DEMO_SUB, formatBanner } from './banner.js';
import { serveHelp } from './help.js';
import { resolveSecrets, type ResolvedSecrets } from './secrets.js';
import { ConfigError } from './errors.js';
import { parseServeArgs, type Env } from './serve-config.js';
import { limitsFromEnv } from './limits-env.js';
import { hasExternalKeys, serveOptionsOf } from './serve-options.js';
import { exitOnSignals } from './shutdown.js';
import type { Output } from './output.js';

const DEMO_TOKEN_TTL_SECONDS = 24 * 3600;

export async function runServe(argv: readonly string[], env: Env, out: Output): Promise<void> {
  const config = parseServeArgs(argv, env);
  if (!config) {
    out.stdout(serveHelp);
    return;
  }
  const limitSettings = limitsFromEnv(env);
  const log = makeLogger({ level: config.logLevel, format: config.logFormat }, { pid: process.pid, name: 'tether' });

  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  if (config.store.startsWith('sqlite:')) {
    await mkdir(path.dirname(config.store.slice('sqlite:'.length)), { recursive: true });
  }
  // The file's `apiKeys` replace the dev key: a key for any tenant must not open a second door.
  const fileApiKeys = config.fileOptions.apiKeys !== undefined;
  // With the file's keys and a secret given, no dev secrets file is read or created; with the
  // file's keys only, the dev key is not used (nor shown: the banner shows secrets of source 'file').
  const secrets: ResolvedSecrets =
    fileApiKeys && config.apiKey === undefined
      ? config.jwtSecret !== undefined
        ? { jwtSecret: config.jwtSecret, apiKey: '', jwtSecretSource: 'env', apiKeySource: 'env', created: false }
        : {
            ...(await resolveSecrets({ jwtSecret: undefined, apiKey: undefined }, config.dataDir)),
            apiKeySource: 'env',
          }
      : await resolveSecrets({ jwtSecret: config.jwtSecret, apiKey: config.apiKey }, config.dataDir);
  // With public keys or a JWKS URL, the dev secret of secrets.json must not open a second door.
  const devJwtSecret = secrets.jwtSecretSource === 'file';
  const useJwtSecret = !(devJwtSecret && hasExternalKeys(config));
  const useApiKey = !fileApiKeys || config.apiKey !== undefined;

  // Loaded after the arguments are checked, so that usage errors and --help answer at once.
  const { createTetherServer } = await import('../server.js');
  const server = await createTetherServer(
    serveOptionsOf(
      config,
      {
        ...(useJwtSecret ? { jwtSecret: secrets.jwtSecret } : {}),
        ...(useApiKey ? { apiKey: secrets.apiKey } : {}),
      },
      limitSettings,
    ),
  ).catch((err: unknown) => {
    // The server's option checks throw TypeError: a setting it refuses is a configuration mistake.
    throw err instanceof TypeError ? new ConfigError(err.message, { cause: err }) : err;
  });
  exitOnSignals({ close: () => server.close(), log });

  let bound: { port: number; host: string };
  try {
    bound = await server.listen(config.port, config.host);
  } catch (err) {
    // Port taken, host unknown…: release the store and sockets so the process can exit.
    await server.close().catch(() => undefined);
    throw err;
  }
  const { port, host } = bound;
  const demoToken =
    devJwtSecret && useJwtSecret
      ? await issueToken({
          secret: secrets.jwtSecret,
          sub: DEMO_SUB,
          channels: ['*'],
          ttlSeconds: DEMO_TOKEN_TTL_SECONDS,
        })
      : undefined;
  out.stderr(
    formatBanner({
      host,
      port,
      store: config.store,
      socketPath: defaults.socketPath,
      secrets,
      demoTokenTtl: '24h',
      ...(demoToken !== undefined ? { demoToken } : {}),
    }),
  );
  // The server logs its own 'tether listening' line; this one adds what only the CLI knows.
  log.info(
    {
      store: config.store,
      dataDir: config.dataDir,
      devSecrets: secrets.jwtSecretSource === 'file',
      ...(config.configFile !== undefined ? { config: config.configFile } : {}),
    },
    'tether serve started',
  );
}
