/**
 * Development secrets: on a first start without `TETHER_JWT_SECRET` / `TETHER_API_KEY`, `tether
 * serve` creates a random JWT secret and API key in `<data-dir>/secrets.json` (mode 0600) and reuses
 * them on the next start, so tokens issued yesterday still verify today.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CliError, ConfigError } from './errors.js';

export const SECRETS_FILE = 'secrets.json';

export interface SecretsFile {
  jwtSecret: string;
  apiKey: string;
  createdAt: string;
}

export type SecretSource = 'env' | 'file';

export interface ResolvedSecrets {
  jwtSecret: string;
  apiKey: string;
  jwtSecretSource: SecretSource;
  apiKeySource: SecretSource;
  /** The secrets file, when any secret came from it. */
  file?: string;
  /** True when this start created the file. */
  created: boolean;
}

export function secretsPath(dataDir: string): string {
  return path.join(dataDir, SECRETS_FILE);
}

/** Secrets from the environment where given, else from the data dir's file (created if absent). */
export async function resolveSecrets(
  given: { jwtSecret?: string | undefined; apiKey?: string | undefined },
  dataDir: string,
): Promise<ResolvedSecrets> {
  if (given.jwtSecret && given.apiKey) {
    return {
      jwtSecret: given.jwtSecret,
      apiKey: given.apiKey,
      jwtSecretSource: 'env',
      apiKeySource: 'env',
      created: false,
    };
  }
  const { secrets, created, file } = await loadOrCreateSecrets(dataDir);
  return {
    jwtSecret: given.jwtSecret || secrets.jwtSecret,
    apiKey: given.apiKey || secrets.apiKey,
    jwtSecretSource: given.jwtSecret ? 'env' : 'file',
    apiKeySource: given.apiKey ? 'env' : 'file',
    file,
    created,
  };
}

export async function loadOrCreateSecrets(
  dataDir: string,
): Promise<{ secrets: SecretsFile; created: boolean; file: string }> {
  const file = secretsPath(dataDir);
  const existing = await readSecretsFile(file);
  if (existing) return { secrets: existing, created: false, file };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secrets: SecretsFile = {
    jwtSecret: randomBytes(32).toString('base64url'),
    apiKey: `tk_${randomBytes(24).toString('base64url')}`,
    createdAt: new Date().toISOString(),
  };
  try {
    // `wx`: if another process created the file meanwhile, keep theirs rather than overwrite it.
    await writeFile(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      const theirs = await readSecretsFile(file);
      if (theirs) return { secrets: theirs, created: false, file };
    }
    throw new CliError(`cannot write ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return { secrets, created: true, file };
}

/**
 * The secrets in `file`, or undefined when it does not exist. A broken file, or one that someone
 * else could have planted or changed (another owner, group- or world-writable), is refused.
 */
export async function readSecretsFile(file: string): Promise<SecretsFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new CliError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let text: string;
  try {
    // The checks and the read use one open file: no swap in between.
    checkOwnership(file, await handle.stat());
    text = await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new CliError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await handle.close();
  }
  const parsed = parseSecrets(text);
  if (!parsed) throw new ConfigError(`${file} is not a valid secrets file (delete it to create new secrets)`);
  await tightenMode(file);
  return parsed;
}

/** Secrets are trusted only from a file this user owns and nobody else can write. */
function checkOwnership(file: string, info: { uid: number; mode: number }): void {
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new ConfigError(`${file} is owned by uid ${info.uid}, not by this user (uid ${uid}); refusing its secrets`);
  }
  if ((info.mode & 0o022) !== 0) {
    throw new ConfigError(
      `${file} is group- or world-writable (mode ${(info.mode & 0o777).toString(8)}); refusing its secrets (chmod 600 it)`,
    );
  }
}

function parseSecrets(text: string): SecretsFile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { jwtSecret, apiKey, createdAt } = value as Record<string, unknown>;
  if (typeof jwtSecret !== 'string' || jwtSecret.length < 16) return undefined;
  if (typeof apiKey !== 'string' || apiKey.length < 16) return undefined;
  return { jwtSecret, apiKey, createdAt: typeof createdAt === 'string' ? createdAt : '' };
}

/** A copied or restored file may have lost its 0600 mode; secrets should not be world-readable. */
async function tightenMode(file: string): Promise<void> {
  try {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) await chmod(file, 0o600);
  } catch {
    // Not ours to chmod (a read-only mount): reading it is still fine.
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
