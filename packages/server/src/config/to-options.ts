/**
 * A checked configuration file as server options: the file's sections map onto
 * `TetherServerOptions` (same names), except `server` (the CLI's own host, port, data dir, store,
 * log level) and the data form of relevance rules. Precedence over flags and the environment is
 * applied by cli/serve.ts.
 */
import { fcmProviderOptionsOf, webPushProviderOptionsOf } from './push-provider-options.js';
import { alertOptionsOf } from './alert-options.js';
import type { RelevanceRule, RelevanceRules } from '../delivery/relevance.js';
import type { TetherServerOptions } from '../options.js';
import type { LimitOptions } from '../limits/limit-options.js';
import type { FileConfig } from './schema.js';
import { LIMIT_GROUP_KEYS } from './sections/limits.js';

export type FileServeSettings = NonNullable<FileConfig['server']>;

export interface FileSettings {
  server: FileServeSettings;
  /** Only what the file sets. */
  options: TetherServerOptions;
}

export function fileSettingsOf(config: FileConfig): FileSettings {
  const options: TetherServerOptions = {
    ...config.auth,
    ...config.http,
    ...config.timings,
  };
  if (config.apiKeys) options.apiKeys = config.apiKeys.map((k) => ({ ...k }));
  if (config.retention) options.retention = config.retention;
  if (config.adminKeys) options.adminKeys = [...config.adminKeys];
  if (config.dashboard) options.dashboard = { ...config.dashboard };
  if (config.metrics) options.metrics = { ...config.metrics };
  if (config.relevance) options.relevance = relevanceRulesOf(config.relevance);
  if (config.push) {
    const { fcm, webpush, ...push } = config.push;
    options.push = {
      ...push,
      ...(fcm && { fcm: fcmProviderOptionsOf(fcm) }),
      ...(webpush && { webpush: webPushProviderOptionsOf(webpush) }),
    };
  }
  if (config.presence) options.presence = { ...config.presence };
  if (config.alerts) options.alerts = alertOptionsOf(config.alerts);
  if (config.limits) {
    const group: Partial<Record<string, number | boolean>> = {};
    const rest: Record<string, number> = {};
    for (const [key, value] of Object.entries(config.limits)) {
      if ((LIMIT_GROUP_KEYS as readonly string[]).includes(key)) group[key] = value;
      else rest[key] = value as number;
    }
    Object.assign(options, rest);
    if (Object.keys(group).length > 0) options.limits = group as Partial<LimitOptions>;
  }
  return { server: config.server ?? {}, options };
}

type FileRelevance = NonNullable<FileConfig['relevance']>;

function relevanceRulesOf(rules: FileRelevance): RelevanceRules {
  const out: Record<string, RelevanceRule> = {};
  for (const [type, rule] of Object.entries(rules)) {
    const converted: { -readonly [K in keyof RelevanceRule]: RelevanceRule[K] } = {};
    if (rule.ttl !== undefined) converted.ttl = rule.ttl;
    if (rule.supersededBy !== undefined) converted.supersededBy = rule.supersededBy;
    if (rule.scope !== undefined) converted.scope = rule.scope;
    // A dotted path into `data`, as the library option takes it too.
    if (rule.collapseKey !== undefined) converted.collapseKey = rule.collapseKey;
    out[type] = converted;
  }
  return out;
}
