/**
 * `tether serve` settings for the limits, from the environment (checked here, so that a typo
 * fails at start with one clear line):
 * - `TETHER_LIMITS`: `name=value` pairs, comma-separated, over the server's `defaults.limits`,
 *   e.g. `eventsPerMinutePerUser=600,maxConnectionsPerIp=5000,dryRun=true` (0 turns a limit off);
 * - `TETHER_TRUSTED_PROXIES`: addresses or CIDR ranges, comma-separated (the `trustedProxies` option);
 * - `TETHER_ALLOW_POLLING`: `true` accepts Socket.IO's polling transport (default `false`).
 */
import { checkLimits, type LimitOptions } from '../limits/limit-options.js';
import { TrustedProxies } from '../limits/client-ip.js';
import { defaults, type TetherServerOptions } from '../options.js';
import { UsageError } from './errors.js';
import type { Env } from './serve-config.js';

export type LimitSettings = Pick<TetherServerOptions, 'limits' | 'trustedProxies' | 'allowPollingTransport'>;

export function limitsFromEnv(env: Env): LimitSettings {
  const settings: LimitSettings = {};
  const limitsText = env['TETHER_LIMITS'];
  if (limitsText) settings.limits = parseLimits(limitsText);
  const proxies = env['TETHER_TRUSTED_PROXIES'];
  if (proxies) {
    const list = proxies
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    usage(() => new TrustedProxies(list));
    settings.trustedProxies = list;
  }
  const polling = env['TETHER_ALLOW_POLLING'];
  if (polling) {
    if (polling !== 'true' && polling !== 'false') {
      throw new UsageError('serve', `invalid TETHER_ALLOW_POLLING '${polling}' (expected true or false)`);
    }
    settings.allowPollingTransport = polling === 'true';
  }
  return settings;
}

function parseLimits(text: string): Partial<LimitOptions> {
  const limits: Record<string, number | boolean> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const [name = '', value = ''] = pair.split('=').map((part) => part.trim());
    if (!Object.hasOwn(defaults.limits, name)) {
      const known = Object.keys(defaults.limits).join(', ');
      throw new UsageError('serve', `TETHER_LIMITS: unknown limit '${name}' (known: ${known})`);
    }
    if (name === 'dryRun') {
      if (value !== 'true' && value !== 'false')
        throw new UsageError('serve', 'TETHER_LIMITS: dryRun must be true or false');
      limits[name] = value === 'true';
    } else {
      if (!/^\d+$/.test(value))
        throw new UsageError('serve', `TETHER_LIMITS: ${name} must be a whole number, got '${value}'`);
      limits[name] = Number(value);
    }
  }
  usage(() => checkLimits({ ...defaults.limits, ...limits }));
  return limits as Partial<LimitOptions>;
}

function usage(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError('serve', err.message);
    throw err;
  }
}
