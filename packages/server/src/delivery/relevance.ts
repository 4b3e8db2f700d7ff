/**
 * Relevance rules (docs/architecture.md §1.4, docs/protocol.md §6): a message is dropped because it
 * expired (`ttl`), a later message of a superseding type exists (`supersededBy`, optionally only
 * one with the same `scope` value, e.g. the same trip), a later message has the same collapse key
 * (`collapseKey`), or the app's `isRelevant` hook says no. Every path applies them: replay and HTTP
 * reads all of them, redelivery all of them, live fan-out the static ones a batch can decide by
 * itself (no per-subscriber cost, never a hook), push before it sends. Every drop is counted by
 * reason and path (relevance-counts.ts); the reader's position still advances past dropped offsets
 * (`upTo`).
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
  /**
   * Drop this message when a later message of one of these types is in the log: any such message
   * (type-wide) without `scope`, only one with the same scope value with it.
   */
  supersededBy?: readonly string[];
  /**
   * What scopes `supersededBy`: a dotted path into `data` (e.g. `tripId`, `trip.id`), read from both
   * messages, or `'collapseKey'` for the messages' own `collapseKey` field. `trip:cancelled` for T1
   * then supersedes T1's offer only. A message with no string or number there is never superseded
   * by this rule. Default: none (type-wide).
   */
  scope?: string;
  /**
   * Derives a collapse key: of messages with the same key only the latest is kept. A dotted path
   * into `data` (keyed by type and value: messages of this type with the same value collapse), or a
   * function. A message's own `collapseKey` is used when this is absent.
   */
  collapseKey?: string | ((message: Message) => string | undefined);
  /** The app's check, e.g. "is trip 123 still ASSIGNED?". A throwing hook keeps the message (never lose silently). */
  isRelevant?: (message: Message, ctx: RelevanceContext) => boolean | Promise<boolean>;
}

/** Rules by message type; `*` applies to every type that has no rule of its own. */
export type RelevanceRules = Readonly<Record<string, RelevanceRule>>;

export type { DropReason } from './relevance-counts.js';
import type { DropReason } from './relevance-counts.js';

/** `scope: 'collapseKey'`: the messages' own collapse keys scope the supersession. */
export const SCOPE_COLLAPSE_KEY = 'collapseKey';

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
  /** Its value under its own rule's `scope` (undefined: no scope, or no value there). */
  scope?: string | undefined;
  /** As a superseder of scoped rules: `<scope>\u0000<value>` for each scope a rule naming its type uses. */
  scopeKeys?: readonly string[] | undefined;
}

/** The value at a dotted path of `data`, as text; undefined unless it is a string or a number. */
export function valueAtPath(data: unknown, path: readonly string[]): string | undefined {
  let value = data;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * The collapse key of a message by the value at `field` (a dotted path into `data`): its type and
 * that value, so that messages of this type with the same value collapse; none when the value is
 * not a string or number (such a message is never collapsed).
 */
export function collapseByField(field: string): (message: Message) => string | undefined {
  const parts = field.split('.');
  return (message) => {
    const value = valueAtPath(message.data, parts);
    return value === undefined ? undefined : `${message.type}\u0000${value}`;
  };
}

/** A rule's collapse key as a function (a path is read from `data`). */
function collapseFnOf(rule: RelevanceRule): ((message: Message) => string | undefined) | undefined {
  const { collapseKey } = rule;
  return typeof collapseKey === 'string' ? collapseByField(collapseKey) : collapseKey;
}

export function toMessage(channel: string, stored: StoredMessage): Message {
  return { channel, ...stored };
}

export class RelevanceFilter {
  /** For each type named in a scoped rule's `supersededBy`: the scopes it is read under. */
  private readonly scopesOfSuperseder = new Map<string, string[]>();
  private readonly collapseFns = new Map<RelevanceRule, (message: Message) => string | undefined>();
  private readonly paths = new Map<string, readonly string[]>();
  /** Any rule at all: without one, live fan-out checks only the messages' own ttl. */
  private readonly hasRules: boolean;
  /** Any rule that may drop a message because of a later one (live batches of several need a look). */
  private readonly hasLaterRules: boolean;
  /** Types named in a type-wide (unscoped) `supersededBy`. */
  private readonly unscopedSuperseders = new Set<string>();

  constructor(
    private readonly rules: RelevanceRules,
    private readonly onHookError: (err: unknown, message: Message) => void,
  ) {
    for (const rule of Object.values(rules)) {
      const collapse = collapseFnOf(rule);
      if (collapse) this.collapseFns.set(rule, collapse);
      if (rule.scope === undefined) for (const type of rule.supersededBy ?? []) this.unscopedSuperseders.add(type);
      if (rule.scope === undefined || !rule.supersededBy) continue;
      for (const type of rule.supersededBy) {
        const scopes = this.scopesOfSuperseder.get(type) ?? [];
        if (!scopes.includes(rule.scope)) scopes.push(rule.scope);
        this.scopesOfSuperseder.set(type, scopes);
      }
    }
    this.hasRules = Object.keys(rules).length > 0;
    this.hasLaterRules = Object.values(rules).some((r) => r.supersededBy || r.collapseKey);
  }

  private ruleFor(type: string): RelevanceRule | undefined {
    return this.rules[type] ?? this.rules['*'];
  }

  /** The ttl that applies to a message: the shorter of its own and its type's rule (undefined: none). */
  ttlFor(type: string, ownTtl: number | undefined): number | undefined {
    return minDefined(ownTtl, this.ruleFor(type)?.ttl);
  }

  traitsOf(stored: StoredMessage, channel: string): MessageTraits {
    const rule = this.ruleFor(stored.type);
    const ttl = minDefined(stored.ttl, rule?.ttl);
    const traits: MessageTraits = {
      offset: stored.offset,
      type: stored.type,
      expiresAt: ttl === undefined ? undefined : stored.ts + ttl,
      collapseKey: this.collapseKeyOf(stored, rule, channel),
    };
    if (rule?.scope !== undefined && rule.supersededBy) traits.scope = this.scopeValue(stored, rule.scope);
    const scopes = this.scopesOfSuperseder.get(stored.type);
    if (scopes) {
      const keys: string[] = [];
      for (const scope of scopes) {
        const value = this.scopeValue(stored, scope);
        if (value !== undefined) keys.push(`${scope}\u0000${value}`);
      }
      traits.scopeKeys = keys;
    }
    return traits;
  }

  /**
   * What live fan-out drops of a batch it is about to send (one channel, offset order): what has
   * expired already, and what a later message of the same batch supersedes or collapses. Costs
   * nothing per subscriber and asks no hook; for a single message without rules, one comparison.
   */
  liveDrops(messages: readonly StoredMessage[], channel: string, now: number): Map<number, DropReason> | undefined {
    if (messages.length === 1 || !this.hasLaterRules) {
      let drops: Map<number, DropReason> | undefined;
      for (const m of messages) {
        const ttl = this.hasRules ? this.ttlFor(m.type, m.ttl) : m.ttl;
        if (ttl !== undefined && now > m.ts + ttl) (drops ??= new Map()).set(m.offset, 'ttl');
      }
      return drops;
    }
    const drops = this.staticDrops(
      messages.map((m) => this.traitsOf(m, channel)),
      now,
    );
    return drops.size > 0 ? drops : undefined;
  }

  /**
   * The static drops among `traits` (one channel, offset order). Supersession and collapse look
   * only at the traits given, so callers pass everything from the position to the target.
   */
  staticDrops(traits: readonly MessageTraits[], now: number): Map<number, DropReason> {
    const drops = new Map<number, DropReason>();
    // Walk from the newest back, remembering the types, scoped types and collapse keys seen later.
    const later: Later = { types: new Set(), scoped: new Set(), keys: new Set() };
    for (let i = traits.length - 1; i >= 0; i--) {
      const t = traits[i]!;
      const reason = this.staticDropReason(t, later, now);
      later.types.add(t.type);
      if (t.scopeKeys) for (const key of t.scopeKeys) later.scoped.add(`${t.type}\u0000${key}`);
      if (t.collapseKey !== undefined) later.keys.add(t.collapseKey);
      if (reason) drops.set(t.offset, reason);
    }
    return drops;
  }

  /** Whether live fan-out should look for what `message` supersedes (`laterKeys`): rules or its own collapse key. */
  mayMakeIrrelevant(message: StoredMessage): boolean {
    return this.hasLaterRules || message.collapseKey !== undefined;
  }

  /**
   * The keys by which messages find, at live fan-out, the earlier ones they make irrelevant
   * (supersede-index.ts): `waits` are what would make this message irrelevant, `fires` what this
   * message makes irrelevant. Same rules as `staticDrops`.
   */
  laterKeys(t: MessageTraits): { waits: string[]; fires: string[] } {
    const waits: string[] = [];
    const fires: string[] = [];
    if (t.collapseKey !== undefined) {
      waits.push(`C\u0000${t.collapseKey}`);
      fires.push(`C\u0000${t.collapseKey}`);
    }
    const rule = this.ruleFor(t.type);
    for (const type of rule?.supersededBy ?? []) {
      if (rule!.scope === undefined) waits.push(`T\u0000${type}`);
      else if (t.scope !== undefined) waits.push(`S\u0000${type}\u0000${rule!.scope}\u0000${t.scope}`);
    }
    if (this.unscopedSuperseders.has(t.type)) fires.push(`T\u0000${t.type}`);
    for (const key of t.scopeKeys ?? []) fires.push(`S\u0000${t.type}\u0000${key}`);
    return { waits, fires };
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

  private staticDropReason(t: MessageTraits, later: Later, now: number): DropReason | undefined {
    if (t.expiresAt !== undefined && now > t.expiresAt) return 'ttl';
    const rule = this.ruleFor(t.type);
    if (rule?.supersededBy && this.superseded(rule, t, later)) return 'superseded';
    if (t.collapseKey !== undefined && later.keys.has(t.collapseKey)) return 'collapsed';
    return undefined;
  }

  private superseded(rule: RelevanceRule, t: MessageTraits, later: Later): boolean {
    const types = rule.supersededBy!;
    if (rule.scope === undefined) return types.some((type) => later.types.has(type));
    if (t.scope === undefined) return false;
    const key = `${rule.scope}\u0000${t.scope}`;
    return types.some((type) => later.scoped.has(`${type}\u0000${key}`));
  }

  private scopeValue(stored: StoredMessage, scope: string): string | undefined {
    if (scope === SCOPE_COLLAPSE_KEY) return stored.collapseKey;
    let path = this.paths.get(scope);
    if (!path) this.paths.set(scope, (path = scope.split('.')));
    return valueAtPath(stored.data, path);
  }

  private collapseKeyOf(stored: StoredMessage, rule: RelevanceRule | undefined, channel: string): string | undefined {
    const derive = rule && this.collapseFns.get(rule);
    if (derive) return derive(toMessage(channel, stored));
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

/** What a walk from the newest message back has seen later than the current one. */
interface Later {
  types: Set<string>;
  /** `<type>\u0000<scope>\u0000<value>` of later superseders of scoped rules. */
  scoped: Set<string>;
  keys: Set<string>;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
