/**
 * Per-channel retention: which `maxMessages` / `maxAgeMs` apply to a stream. The stream name is
 * `<tenant>/<channel>` (delivery/channel-registry.ts `streamOf`); the rules match the channel, so
 * one rule covers every tenant. First matching rule wins; fields it leaves out keep the global value.
 */
import { matchesGlob } from '../auth/glob.js';
import type { ChannelRetention, RetentionOptions } from './types.js';

export interface StreamRetention {
  maxMessages: number;
  maxAgeMs: number;
}

/** Streams whose retention is remembered; beyond it the cache starts over (cheap to recompute). */
const CACHE_LIMIT = 10_000;

export class RetentionByChannel {
  private readonly global: StreamRetention;
  private readonly rules: readonly ChannelRetention[];
  private readonly cache = new Map<string, StreamRetention>();
  /** The shortest `maxAgeMs` of any rule or the global value: nothing younger can expire. */
  readonly shortestMaxAgeMs: number;

  constructor(retention: RetentionOptions) {
    this.global = { maxMessages: retention.maxMessages, maxAgeMs: retention.maxAgeMs };
    this.rules = retention.perChannel ?? [];
    this.shortestMaxAgeMs = Math.min(retention.maxAgeMs, ...this.rules.map((r) => r.maxAgeMs ?? retention.maxAgeMs));
  }

  of(stream: string): StreamRetention {
    if (this.rules.length === 0) return this.global;
    const known = this.cache.get(stream);
    if (known) return known;
    const slash = stream.indexOf('/');
    const channel = slash < 0 ? stream : stream.slice(slash + 1);
    const rule = this.rules.find((r) => matchesGlob(r.channels, channel));
    const resolved = rule
      ? { maxMessages: rule.maxMessages ?? this.global.maxMessages, maxAgeMs: rule.maxAgeMs ?? this.global.maxAgeMs }
      : this.global;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(stream, resolved);
    return resolved;
  }
}

/** Checks the entries of `retention.perChannel` (the same bounds as the global values). */
export function checkPerChannel(perChannel: readonly ChannelRetention[] | undefined): void {
  (perChannel ?? []).forEach((rule, i) => {
    const at = `retention.perChannel[${i}]`;
    if (typeof rule.channels !== 'string' || rule.channels.length === 0) {
      throw new RangeError(`${at}.channels must be a non-empty channel pattern`);
    }
    if (rule.maxMessages !== undefined && (!Number.isSafeInteger(rule.maxMessages) || rule.maxMessages < 1)) {
      throw new RangeError(`${at}.maxMessages must be an integer >= 1, got ${rule.maxMessages}`);
    }
    if (rule.maxAgeMs !== undefined && !(rule.maxAgeMs > 0)) {
      throw new RangeError(`${at}.maxAgeMs must be > 0, got ${rule.maxAgeMs}`);
    }
  });
}
