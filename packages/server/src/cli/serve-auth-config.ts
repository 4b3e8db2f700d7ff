/**
 * The auth settings of `tether serve` from the environment: public keys from a PEM file, a JWKS
 * URL, the accepted issuer and audience, the longest token lifetime. Checked here so that a
 * mistake fails at start with one line naming the variable.
 */
import { readFileSync } from 'node:fs';
import { importPublicKey } from '../auth/public-keys.js';
import { jwksUrlOf } from '../auth/check-auth-options.js';
import { parseDurationSeconds } from './duration.js';
import { UsageError } from './errors.js';

type AuthEnv = Readonly<Record<string, string | undefined>>;

export interface ServeAuthConfig {
  /** `TETHER_JWT_PUBLIC_KEY`: a PEM file (one or more SPKI blocks), read as the PEM texts. */
  jwtPublicKeys?: string[];
  /** `TETHER_JWKS_URL`. */
  jwksUrl?: string;
  /** `TETHER_JWT_ISSUER`: one value or a comma-separated list. */
  jwtIssuer?: string[];
  /** `TETHER_JWT_AUDIENCE`: one value or a comma-separated list. */
  jwtAudience?: string[];
  /** `TETHER_JWT_MAX_LIFETIME`: e.g. `1h`, `24h`, `7d`. Default: the server's, 24 h. */
  maxTokenLifetimeSeconds?: number;
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

export function parseServeAuthEnv(env: AuthEnv): ServeAuthConfig {
  const config: ServeAuthConfig = {};
  const keyFile = nonEmpty(env['TETHER_JWT_PUBLIC_KEY']);
  if (keyFile !== undefined) config.jwtPublicKeys = readPemFile(keyFile);
  const jwksUrl = nonEmpty(env['TETHER_JWKS_URL']);
  if (jwksUrl !== undefined) {
    try {
      jwksUrlOf(jwksUrl);
    } catch {
      throw new UsageError('serve', `invalid TETHER_JWKS_URL '${jwksUrl}' (expected an http(s) URL)`);
    }
    config.jwksUrl = jwksUrl;
  }
  const issuer = list(env['TETHER_JWT_ISSUER']);
  if (issuer) config.jwtIssuer = issuer;
  const audience = list(env['TETHER_JWT_AUDIENCE']);
  if (audience) config.jwtAudience = audience;
  const maxLifetime = nonEmpty(env['TETHER_JWT_MAX_LIFETIME']);
  if (maxLifetime !== undefined) {
    try {
      config.maxTokenLifetimeSeconds = parseDurationSeconds(maxLifetime);
    } catch (err) {
      throw new UsageError('serve', `TETHER_JWT_MAX_LIFETIME: ${(err as Error).message}`);
    }
  }
  return config;
}

function readPemFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('serve', `cannot read TETHER_JWT_PUBLIC_KEY '${file}': ${(err as Error).message}`);
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw new UsageError('serve', `TETHER_JWT_PUBLIC_KEY '${file}' holds no '-----BEGIN PUBLIC KEY-----' block`);
  }
  blocks.forEach((pem, i) => {
    try {
      importPublicKey(pem, `key ${i + 1}`);
    } catch (err) {
      throw new UsageError('serve', `TETHER_JWT_PUBLIC_KEY '${file}': ${(err as Error).message}`);
    }
  });
  return blocks;
}

function list(value: string | undefined): string[] | undefined {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  return items.length > 0 ? items : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
