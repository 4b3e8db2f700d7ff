/**
 * The alerts' options (`alerts` in the server options and the config file), their defaults and
 * their check. Durations are milliseconds. Without a target, events are still logged and listed
 * (`recentAlerts()`); nothing is sent.
 */
import type { DiscordTargetOptions } from './discord.js';
import type { SlackTargetOptions } from './slack.js';
import type { WebhookAlertOptions } from './webhook-target.js';
import type { EmailTargetOptions } from './email.js';

export interface AlertOptions {
  /** A Discord webhook. Default none. */
  discord?: DiscordTargetOptions;
  /** A Slack incoming webhook. Default none. */
  slack?: SlackTargetOptions;
  /** A generic webhook signed with Standard Webhooks. Default none. */
  webhook?: WebhookAlertOptions;
  /** Email over SMTP. Default none. */
  email?: EmailTargetOptions;
  /** The same event (kind and subject) is sent at most once per this long, cluster-wide. Default 300_000. */
  cooldownMs?: number;
  /** How often the store, the delivery ratio and the spike counters are checked. Default 5000. */
  checkIntervalMs?: number;
  /** The window the ratio and the spikes are measured over. Default 60_000. */
  windowMs?: number;
  /** Alert when the delivery success ratio over the window is below this (0: off). Default 0.9. */
  deliveryRatioBelow?: number;
  /** …and at least this many deliveries were made in the window (fewer say little). Default 100. */
  minDeliveries?: number;
  /** Alert when this many messages were counted missed within the window (0: off). Default 100. */
  missedPerWindow?: number;
  /** Alert when this many sockets were cut as slow consumers within the window (0: off). Default 20. */
  slowConsumersPerWindow?: number;
  /** Longest wait for one target's answer (an SMTP step, an HTTP reply). Default 5000. */
  timeoutMs?: number;
  /** Attempts per target and alert. Default 3. */
  maxAttempts?: number;
  /** Delay before the second attempt, doubling after (a target's `Retry-After` wins, up to 60 s). Default 1000. */
  retryBaseMs?: number;
}

export type ResolvedAlertOptions = Required<Omit<AlertOptions, 'discord' | 'slack' | 'webhook' | 'email'>> &
  Pick<AlertOptions, 'discord' | 'slack' | 'webhook' | 'email'>;

export const alertDefaults = {
  cooldownMs: 300_000,
  checkIntervalMs: 5000,
  windowMs: 60_000,
  deliveryRatioBelow: 0.9,
  minDeliveries: 100,
  missedPerWindow: 100,
  slowConsumersPerWindow: 20,
  timeoutMs: 5000,
  maxAttempts: 3,
  retryBaseMs: 1000,
} as const;

const POSITIVE_WHOLE = [
  'cooldownMs',
  'checkIntervalMs',
  'windowMs',
  'timeoutMs',
  'maxAttempts',
  'retryBaseMs',
] as const;
const WHOLE = ['minDeliveries', 'missedPerWindow', 'slowConsumersPerWindow'] as const;

/** Merges over the defaults; a TypeError names a bad option. */
export function resolveAlertOptions(options: AlertOptions = {}): ResolvedAlertOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AlertOptions;
  const resolved = { ...alertDefaults, ...defined };
  for (const name of POSITIVE_WHOLE) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`alerts.${name} must be a whole number > 0, got ${value}`);
  }
  for (const name of WHOLE) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 0)
      throw new TypeError(`alerts.${name} must be a whole number ≥ 0 (0 = off), got ${value}`);
  }
  const ratio = resolved.deliveryRatioBelow;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new TypeError(`alerts.deliveryRatioBelow must be from 0 (off) to 1, got ${ratio}`);
  }
  return resolved;
}
