/**
 * Relevance rules (docs/architecture.md §2, docs/protocol.md §6): on replay and HTTP reads a message may be dropped because it
 * expired (`ttl`), a later message of a superseding type exists (`supersededBy`), a later message
 * has the same collapse key (`collapseKey`), or the app's `isRelevant` hook says no. Every drop is
 * counted by reason; the caller's position still advances past dropped offsets (`upTo`).
 * Live delivery is not filtered: a live message is by definition fresh.
 */
import type { Message } from '@tether/protocol';
import type { StoredMessage } from '../store/types.js';

export interface RelevanceContext {
  tenant: string;
  sub: string;
  deviceId: string;
  channel: string;
}

export interface RelevanceRule {
  /** Milliseconds after `ts` after which messages of this type are stale. A message's own `ttl` wins if shorter. */
  ttl?: number;
  /** Drop this message when a later message of one of these types is in the log. */
  supersededBy?: readonly string[];
  /** Derives a collapse key: of messages with the same key only the latest is replayed. A message's own `collapseKey` is used when this is absent. */
  collapseKey?: (message: Message) => string | undefined;
  /** The app's check, e.g. "is trip 123 still ASSIGNED?". A throwing hook keeps the message (never lose silently). */
  isRelevant?: (message: Message, ctx: RelevanceContext) => boolean | Promise<boolean>;
}

/** Rules by message type; `*` applies to every type that has no rule of its own. */
export type RelevanceRules = Readonly<Record<string, RelevanceRule>>;

export type DropReason = 'ttl' | 'superseded' | 'collapsed' | 'irrelevant';

export interface Drop {
  offset: number;
  reason: DropReason;
}

export interface FilterResult {
  kept: StoredMessage[];
  /** Dropped offsets with their reason, in no particular order. */
  drops: Drop[];
}

/**
 * What the static rules (ttl, supersession, collapse) need of a message. A reader that must know
 * every later message keeps these, not whole messages.
 */
export interface MessageTraits {
  offset: number;
  type: string;
  /** When it stops being relevant (ms since the epoch); undefined when it does not expire. */
  expiresAt: number | undefined;
  collapseKey: string | undefined;
}

export function toMessage(channel: string, stored: StoredMessage): Message {
  return { channel, ...stored };
}

export class RelevanceFilter {
  constructor(
    private readonly rules: RelevanceRules,
    private readonly onHookError: (err: unknown, message: Message) => void,
  ) {}

  private ruleFor(type: string): RelevanceRule | undefined {
    return this.rules[type] ?? this.rules['*'];
  }

  traitsOf(stored: StoredMessage, channel: string): MessageTraits {
    const rule = this.ruleFor(stored.type);
    const ttl = minDefined(stored.ttl, rule?.ttl);
    return {
      offset: stored.offset,
      type: stored.type,
      expiresAt: ttl === undefined ? undefined : stored.ts + ttl,
      collapseKey: this.collapseKeyOf(stored, rule, channel),
    };
  }

  /**
   * The static drops among `traits` (one channel, offset order). Supersession and collapse look
   * only at the traits given, so callers pass everything from the position to the target.
   */
  staticDrops(traits: readonly MessageTraits[], now: number): Map<number, DropReason> {
    const drops = new Map<number, DropReason>();
    // Walk from the newest back, remembering the types and collapse keys seen later.
    const laterTypes = new Set<string>();
    const laterKeys = new Set<string>();
    for (let i = traits.length - 1; i >= 0; i--) {
      const t = traits[i]!;
      const reason = this.staticDropReason(t, laterTypes, laterKeys, now);
      laterTypes.add(t.type);
      if (t.collapseKey !== undefined) laterKeys.add(t.collapseKey);
      if (reason) drops.set(t.offset, reason);
    }
    return drops;
  }

  /** Asks the app's `isRelevant` hooks about `messages` (already past the static rules), in order. */
  async askHooks(messages: readonly StoredMessage[], ctx: RelevanceContext): Promise<FilterResult> {
    const drops: Drop[] = [];
    const kept: StoredMessage[] = [];
    for (const stored of messages) {
      const hook = this.ruleFor(stored.type)?.isRelevant;
      if (hook && !(await this.askHook(hook, stored, ctx))) drops.push({ offset: stored.offset, reason: 'irrelevant' });
      else kept.push(stored);
    }
    return { kept, drops };
  }

  private staticDropReason(
    t: MessageTraits,
    laterTypes: ReadonlySet<string>,
    laterKeys: ReadonlySet<string>,
    now: number,
  ): DropReason | undefined {
    if (t.expiresAt !== undefined && now > t.expiresAt) return 'ttl';
    if (this.ruleFor(t.type)?.supersededBy?.some((type) => laterTypes.has(type))) return 'superseded';
    if (t.collapseKey !== undefined && laterKeys.has(t.collapseKey)) return 'collapsed';
    return undefined;
  }

  private collapseKeyOf(stored: StoredMessage, rule: RelevanceRule | undefined, channel: string): string | undefined {
    if (rule?.collapseKey) return rule.collapseKey(toMessage(channel, stored));
    return stored.collapseKey;
  }

  private async askHook(
    hook: NonNullable<RelevanceRule['isRelevant']>,
    stored: StoredMessage,
    ctx: RelevanceContext,
  ): Promise<boolean> {
    const message = toMessage(ctx.channel, stored);
    try {
      return await hook(message, ctx);
    } catch (err) {
      this.onHookError(err, message);
      return true;
    }
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
