/**
 * The order in which one reader's channels are replayed (socket resume, HTTP poll): highest
 * priority first, so that a driver's trip channel comes before chat. Order within a channel never
 * changes. A channel's priority is the highest `priority` among its next `priorityLookahead`
 * pending messages, no further than `maxBatchBytes` of them (as stored, before the relevance
 * rules); a channel with nothing pending ranks last. See docs/protocol.md §5 ("Priority").
 *
 * The peek asks the channel's state first: a position at its head has nothing pending, and the
 * ring of recent messages answers a short gap. Only an older gap is read from the store. After a
 * restart thousands of clients resume at once, nearly all at the head: without this, each peeked
 * both its channels in SQLite (13 % of the storm's CPU, session 13).
 */
import type { MessagePriority, Position } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import type { LogStore, StoredMessage } from '../store/types.js';
import { streamOf, type ChannelRegistry } from './channel-registry.js';
import { messageBytes, yieldLoop } from './replayer.js';

const RANK: Readonly<Record<MessagePriority, number>> = { low: 1, normal: 2, high: 3 };
/** A channel with nothing pending (or no position: it starts live). */
export const NOTHING_PENDING = 0;
const HIGHEST = RANK.high;

export function rankOf(message: Pick<StoredMessage, 'priority'>): number {
  return RANK[message.priority ?? 'normal'];
}

export interface ReplayPriorityDeps {
  store: LogStore;
  /** The node's channel states: their heads and rings answer most peeks without a read. */
  registry: ChannelRegistry;
  /**
   * Whether a peek may create a channel's state: yes for a socket's resume (its subscribe creates
   * and keeps the state right after), no for an HTTP poll (which keeps no state: polling names
   * nobody writes must leave nothing behind).
   */
  createStates: boolean;
  permissions: Permissions;
  /** Pending messages looked at per channel at most (`priorityLookahead`). */
  lookahead: number;
  /** Bytes of pending messages looked at per channel at most (`maxBatchBytes`). */
  maxBytes: number;
}

/** Messages per store read of a peek: small, since messages may be large and a `high` may come first. */
const PEEK_PAGE = 8;

/**
 * The highest rank among a position's next `lookahead` pending messages, read a few at a time and
 * no further than `maxBytes` of them (a peek never costs more than the answer it orders). A channel
 * the reader may not subscribe to is not read (its refusal comes from the subscribe path itself);
 * a failed read ranks it `normal`, and the read that follows reports the failure.
 */
export async function pendingRank(
  deps: ReplayPriorityDeps,
  ctx: AuthContext,
  channel: string,
  position: Position | undefined,
): Promise<number> {
  if (position === undefined) return NOTHING_PENDING;
  try {
    await deps.permissions.check(ctx, channel, 'subscribe');
  } catch {
    return NOTHING_PENDING;
  }
  const stream = streamOf(ctx.tenant, channel);
  try {
    const recent = await recentPending(deps, ctx.tenant, channel, position);
    if (recent !== undefined) return rankOfRecent(deps, recent);
  } catch {
    return RANK.normal; // the read that follows reports the failure
  }
  let rank = NOTHING_PENDING;
  let after = position.offset;
  let seen = 0;
  let bytes = 0;
  try {
    while (seen < deps.lookahead && bytes < deps.maxBytes) {
      const asked = Math.min(PEEK_PAGE, deps.lookahead - seen);
      const { messages } = await deps.store.read(stream, after, asked);
      for (const message of messages) {
        rank = Math.max(rank, rankOf(message));
        bytes += messageBytes(message);
      }
      seen += messages.length;
      if (rank === HIGHEST || messages.length < asked) break;
      after = messages.at(-1)!.offset;
      await yieldLoop();
    }
    return rank;
  } catch {
    return Math.max(rank, RANK.normal);
  }
}

/**
 * The pending messages the peek looks at, from the channel's state: none at its head, the ring's
 * when it holds them all; undefined when only the store knows (another life of the log, an old gap).
 */
async function recentPending(
  deps: ReplayPriorityDeps,
  tenant: string,
  channel: string,
  position: Position,
): Promise<readonly StoredMessage[] | undefined> {
  const state = deps.createStates
    ? await deps.registry.get(tenant, channel)
    : await deps.registry.existing(streamOf(tenant, channel));
  if (state === undefined) return undefined;
  if (position.epoch !== undefined && position.epoch !== state.epoch) return undefined;
  if (position.offset >= state.head) return [];
  return state.recentRange(position.offset, Math.min(state.head, position.offset + deps.lookahead));
}

/** The store loop's answer for messages the ring holds: the same pages, the same byte bound. */
function rankOfRecent(deps: ReplayPriorityDeps, messages: readonly StoredMessage[]): number {
  let rank = NOTHING_PENDING;
  let bytes = 0;
  for (let start = 0; start < messages.length && bytes < deps.maxBytes; start += PEEK_PAGE) {
    for (const message of messages.slice(start, start + PEEK_PAGE)) {
      rank = Math.max(rank, rankOf(message));
      bytes += messageBytes(message);
    }
    if (rank === HIGHEST) break;
  }
  return rank;
}

/**
 * Channels grouped by pending rank, highest first (a group keeps the given order). With fewer
 * than two positioned channels there is nothing to order: one group, no read.
 */
export async function priorityTiers(
  deps: ReplayPriorityDeps,
  ctx: AuthContext,
  positions: ReadonlyMap<string, Position | undefined>,
): Promise<[string, Position | undefined][][]> {
  const entries = [...positions];
  const positioned = entries.filter(([, position]) => position !== undefined).length;
  if (positioned < 2) return [entries];
  const ranks = await Promise.all(entries.map(([channel, position]) => pendingRank(deps, ctx, channel, position)));
  const byRank = new Map<number, [string, Position | undefined][]>();
  entries.forEach((entry, i) => {
    // Channels with nothing to replay start with the first group: they only join their room.
    const rank = ranks[i] === NOTHING_PENDING ? HIGHEST : ranks[i]!;
    const group = byRank.get(rank) ?? [];
    group.push(entry);
    byRank.set(rank, group);
  });
  return [...byRank.entries()].sort(([a], [b]) => b - a).map(([, group]) => group);
}

/** Runs `each` for every channel, a tier at a time, highest first; `each` never rejects. */
export async function inPriorityOrder(
  deps: ReplayPriorityDeps,
  ctx: AuthContext,
  positions: ReadonlyMap<string, Position | undefined>,
  each: (channel: string, position: Position | undefined) => Promise<void>,
): Promise<void> {
  for (const tier of await priorityTiers(deps, ctx, positions)) {
    await Promise.all(tier.map(([channel, position]) => each(channel, position)));
  }
}
