/**
 * The push fallback's options (`push` in the server options and the config file), their defaults
 * and their check. Durations are milliseconds.
 */
import type { PublishPush } from '@tether/protocol';
import type { PushProvider } from './provider.js';
import { createFcmProvider, type FcmProviderOptions } from './fcm.js';
import { WebhookProvider, type WebhookProviderOptions } from './webhook.js';
import { createWebPushProvider, type WebPushProviderOptions } from './webpush.js';

/** A message type's push policy: push it when no device of its user acked within `ackWithin`. */
export interface PushPolicy {
  /** Ms after publish. Default: `push.ackWithin`. */
  ackWithin?: number;
}

export interface PushOptions {
  /** Providers (FCM, Web Push, custom), tried in this order. Default none. */
  providers?: PushProvider[];
  /** A webhook provider (Standard Webhooks), added after `providers`. Default none. */
  webhook?: WebhookProviderOptions;
  /** The FCM HTTP v1 provider (docs/push-providers.md), added after the webhook. Default none. */
  fcm?: FcmProviderOptions;
  /** The Web Push provider (VAPID; docs/push-providers.md), added after FCM. Default none. */
  webpush?: WebPushProviderOptions;
  /** Push policies by message type. A message with `critical: true` or `push` has one too. Default none. */
  policies?: Readonly<Record<string, PushPolicy>>;
  /** Default `ackWithin` of a policy, ms. Default 10_000. */
  ackWithin?: number;
  /** Push targets one user may register; past it, the least recently registered go. Default 10. */
  maxDevicesPerUser?: number;
  /** Attempt rounds per (message, user) before the targets still failing count as failed. Default 5. */
  maxAttempts?: number;
  /** First retry delay (doubling, full jitter) when a provider gave no `Retry-After`. Default 1000. */
  retryBaseMs?: number;
  /** Longest retry delay without a `Retry-After` (one given is honoured). Default 60_000. */
  retryMaxMs?: number;
  /** How long a (message, user) stays claimed: it is never pushed twice within it. Default 86_400_000 (1 day). */
  claimTtlMs?: number;
  /** How long a node owns a due push it took; after it, another node may take it (the first died). Default 30_000. */
  leaseMs?: number;
  /** How often each node looks for due pushes (any node's, after a restart too). Default 1000. */
  pollIntervalMs?: number;
  /** How long a node waits for the other nodes' answer to "is this user connected, what did it ack?". Default 1000. */
  queryTimeoutMs?: number;
}

export interface ResolvedPushOptions {
  providers: PushProvider[];
  policies: Readonly<Record<string, PushPolicy>>;
  ackWithin: number;
  maxDevicesPerUser: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  claimTtlMs: number;
  leaseMs: number;
  pollIntervalMs: number;
  queryTimeoutMs: number;
}

export const pushDefaults = {
  ackWithin: 10_000,
  maxDevicesPerUser: 10,
  maxAttempts: 5,
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
  claimTtlMs: 86_400_000,
  leaseMs: 30_000,
  pollIntervalMs: 1000,
  queryTimeoutMs: 1000,
} as const;

const POSITIVE_WHOLE = [
  'ackWithin',
  'maxDevicesPerUser',
  'maxAttempts',
  'retryBaseMs',
  'retryMaxMs',
  'claimTtlMs',
  'leaseMs',
  'pollIntervalMs',
  'queryTimeoutMs',
] as const;

/** Merges over the defaults and builds the webhook, FCM and Web Push providers; a TypeError names a bad option. */
export function resolvePushOptions(options: PushOptions = {}, now: () => number = Date.now): ResolvedPushOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PushOptions;
  const resolved = { ...pushDefaults, ...defined };
  for (const name of POSITIVE_WHOLE) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`push.${name} must be a whole number > 0, got ${value}`);
  }
  const policies = resolved.policies ?? {};
  for (const [type, policy] of Object.entries(policies)) {
    const { ackWithin } = policy;
    if (ackWithin !== undefined && (!Number.isInteger(ackWithin) || ackWithin <= 0)) {
      throw new TypeError(`push.policies.${type}.ackWithin must be a whole number > 0, got ${ackWithin}`);
    }
  }
  const providers = [...(resolved.providers ?? [])];
  if (resolved.webhook) providers.push(new WebhookProvider(resolved.webhook, now));
  if (resolved.fcm) providers.push(providerOf('fcm', resolved.fcm, createFcmProvider));
  if (resolved.webpush) providers.push(providerOf('webpush', resolved.webpush, createWebPushProvider));
  const names = new Set<string>();
  for (const provider of providers) {
    if (typeof provider?.name !== 'string' || typeof provider.send !== 'function') {
      throw new TypeError('push.providers must be PushProvider objects (name, perDevice, send)');
    }
    if (names.has(provider.name)) throw new TypeError(`push.providers: two providers are named "${provider.name}"`);
    names.add(provider.name);
  }
  return {
    providers,
    policies,
    ackWithin: resolved.ackWithin,
    maxDevicesPerUser: resolved.maxDevicesPerUser,
    maxAttempts: resolved.maxAttempts,
    retryBaseMs: resolved.retryBaseMs,
    retryMaxMs: resolved.retryMaxMs,
    claimTtlMs: resolved.claimTtlMs,
    leaseMs: resolved.leaseMs,
    pollIntervalMs: resolved.pollIntervalMs,
    queryTimeoutMs: resolved.queryTimeoutMs,
  };
}

/** Builds a provider from its option; a mistake is a TypeError naming the option (`push.fcm: endpoint must be…`). */
function providerOf<T>(option: 'fcm' | 'webpush', options: T, create: (options: T) => PushProvider): PushProvider {
  try {
    return create(options);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // The provider's own messages start with its name ("fcm endpoint…", "webpush: …").
    throw new TypeError(`push.${option}: ${err.message.replace(/^(fcm|webpush):? /, '')}`, { cause: err });
  }
}

/** A publish's own push request: `true` (the default `ackWithin`) or `{ ackWithin }`. */
export type { PublishPush };

/**
 * The `ackWithin` a message is pushed with, or undefined when it has no push policy: the
 * publish's own `push` first, then its type's policy, then `critical: true` (the short form).
 */
export function ackWithinOf(
  options: ResolvedPushOptions,
  message: { type: string; critical?: boolean | undefined },
  push?: PublishPush,
): number | undefined {
  if (typeof push === 'object') return push.ackWithin;
  const policy = options.policies[message.type];
  if (policy) return policy.ackWithin ?? options.ackWithin;
  if (push === true || message.critical === true) return options.ackWithin;
  return undefined;
}
