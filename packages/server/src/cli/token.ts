/** `tether token`: prints a signed user token, alone, on stdout (so that `$(tether token …)` works). */
import path from 'node:path';
import { issueToken } from '../auth/issue-token.js';
import { parseArgs } from 'node:util';
import { splitList, withUsageErrors } from './args.js';
import { parseDurationSeconds } from './duration.js';
import { UsageError } from './errors.js';
import { tokenHelp } from './help.js';
import { readSecretsFile, secretsPath } from './secrets.js';
import type { Env } from './serve-config.js';
import type { Output } from './output.js';

const tokenOptions = {
  sub: { type: 'string' },
  tenant: { type: 'string' },
  channels: { type: 'string' },
  publish: { type: 'string' },
  ttl: { type: 'string', default: '1h' },
  secret: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runToken(argv: readonly string[], env: Env, out: Output): Promise<void> {
  const { values } = withUsageErrors('token', () =>
    parseArgs({ args: [...argv], options: tokenOptions, strict: true }),
  );
  if (values.help) {
    out.stdout(tokenHelp);
    return;
  }
  if (!values.sub) throw new UsageError('token', 'missing --sub USER');
  if (values.tenant === '') throw new UsageError('token', '--tenant must not be empty');
  let ttlSeconds: number;
  try {
    ttlSeconds = parseDurationSeconds(values.ttl);
  } catch (err) {
    throw new UsageError('token', `--ttl: ${(err as Error).message}`);
  }
  const secret = await findSecret(values.secret, env, values['data-dir']);
  const channels = splitList(values.channels);
  const publish = splitList(values.publish);
  let token: string;
  try {
    token = await issueToken({
      secret,
      sub: values.sub,
      ttlSeconds,
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      ...(channels !== undefined ? { channels } : {}),
      ...(publish !== undefined ? { publish } : {}),
    });
  } catch (err) {
    // issueToken refuses claims the server would refuse: that is a usage mistake here.
    if (err instanceof TypeError) throw new UsageError('token', err.message.replace(/^issueToken: /, ''));
    throw err;
  }
  out.stdout(token + '\n');
}

/** `--secret`, else `TETHER_JWT_SECRET`, else the dev secret that `tether serve` left in the data dir. */
async function findSecret(flag: string | undefined, env: Env, dataDirFlag: string | undefined): Promise<string> {
  if (flag) return flag;
  const fromEnv = env['TETHER_JWT_SECRET'];
  if (fromEnv) return fromEnv;
  const dataDir = path.resolve(dataDirFlag ?? (env['TETHER_DATA_DIR'] || './data'));
  const file = await readSecretsFile(secretsPath(dataDir));
  if (file) return file.jwtSecret;
  throw new UsageError(
    'token',
    `no secret: pass --secret, set TETHER_JWT_SECRET, or run 'tether serve' once to create ${secretsPath(dataDir)}`,
  );
}
