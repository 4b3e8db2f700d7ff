/**
 * `GET /v1/history`: a channel's log paged backwards, newest first, for notification lists. The
 * same permission as subscribing (the user's token, the `subscribe` check, the token's tenant).
 * Unfiltered by the relevance rules: a list shows what the log still holds (docs/protocol.md §8) —
 * unless `relevant=true`: then the static rules (ttl, scoped supersession, collapse) leave out what a
 * later message made irrelevant, so a chat pages through the final state of edited and deleted
 * messages (docs/presence.md, "Edits and deletes").
 */
import {
  ErrorCode,
  TetherError,
  httpHistoryQuerySchema,
  parseFrame,
  type HistoryResponse,
  type HttpHistoryQuery,
} from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import type { Permissions } from '../auth/permissions.js';
import { streamOf } from '../delivery/channel-registry.js';
import { messageBytes } from '../delivery/replayer.js';
import type { LogStore, StoredMessage } from '../store/types.js';
import type { MessageTraits, RelevanceFilter } from '../delivery/relevance.js';

export interface HistoryDeps {
  store: LogStore;
  permissions: Permissions;
  /** Most messages per answer, and the default `limit` (`maxHistoryLimit`). */
  maxHistoryLimit: number;
  /** Bytes of messages per answer (`maxBatchBytes`); the newest message comes even if alone it is larger. */
  maxBatchBytes: number;
  /** For `relevant=true`. */
  relevance: RelevanceFilter;
  now: () => number;
}

/** Messages read per store call when `relevant=true` looks at what follows a page. */
const LATER_PAGE = 1000;

/** Checks the query (nothing is read before it passes). */
export function parseHistoryQuery(query: unknown, maxHistoryLimit: number): HttpHistoryQuery {
  const parsed = parseFrame(httpHistoryQuerySchema, query, 'history query');
  if (parsed.limit !== undefined && parsed.limit > maxHistoryLimit) {
    throw new TetherError(ErrorCode.BadRequest, `invalid history query at limit: at most ${maxHistoryLimit}`);
  }
  return parsed;
}

export async function readHistory(
  deps: HistoryDeps,
  ctx: AuthContext,
  query: HttpHistoryQuery,
): Promise<HistoryResponse> {
  await deps.permissions.check(ctx, query.channel, 'subscribe');
  return readTenantHistory(deps, ctx.tenant, query);
}

/** The page, with no permission check: for a caller already allowed (a user checked above, the app's own process). */
export async function readTenantHistory(
  deps: Omit<HistoryDeps, 'permissions'>,
  tenant: string,
  query: HttpHistoryQuery,
): Promise<HistoryResponse> {
  const { channel } = query;
  const stream = streamOf(tenant, channel);
  const limit = query.limit ?? deps.maxHistoryLimit;
  const info = await deps.store.info(stream);
  // `before` past the head means "the newest": a cursor cannot point into the future.
  const before = Math.min(query.before ?? info.head + 1, info.head + 1);
  const after = Math.max(info.first - 1, before - 1 - limit);
  if (before - 1 <= after) return { channel, epoch: info.epoch, messages: [], next: null };
  const page = await deps.store.read(stream, after, before - 1 - after);
  const newestFirst: StoredMessage[] = [];
  let bytes = 0;
  for (let i = page.messages.length - 1; i >= 0; i--) {
    const message = page.messages[i]!;
    if (message.offset >= before) continue;
    const size = messageBytes(message);
    if (newestFirst.length > 0 && bytes + size > deps.maxBatchBytes) break;
    newestFirst.push(message);
    bytes += size;
  }
  const oldest = newestFirst.at(-1)?.offset;
  // Older messages remain while the oldest returned is past retention's start (read again: a prune may have moved it).
  const next = page.epoch === info.epoch && oldest !== undefined && oldest > page.first ? oldest : null;
  const messages =
    query.relevant && newestFirst.length > 0 ? await stillRelevant(deps, stream, newestFirst) : newestFirst;
  return { channel, epoch: page.epoch, messages, next };
}

/**
 * The page's messages the static relevance rules keep, judged against every later message in the
 * log (read in pages, traits only). `next` stays the page's own cursor: a page may come back with
 * fewer messages than `limit`, or none, and still have older ones.
 */
async function stillRelevant(
  deps: Omit<HistoryDeps, 'permissions'>,
  stream: string,
  newestFirst: StoredMessage[],
): Promise<StoredMessage[]> {
  const channel = stream.slice(stream.indexOf('/') + 1);
  const traits: MessageTraits[] = [];
  for (let i = newestFirst.length - 1; i >= 0; i--) traits.push(deps.relevance.traitsOf(newestFirst[i]!, channel));
  let after = newestFirst[0]!.offset;
  for (;;) {
    const later = await deps.store.read(stream, after, LATER_PAGE);
    for (const message of later.messages) traits.push(deps.relevance.traitsOf(message, channel));
    const last = later.messages.at(-1)?.offset;
    if (last === undefined || last >= later.head) break;
    after = last;
  }
  const drops = deps.relevance.staticDrops(traits, deps.now());
  return newestFirst.filter((message) => !drops.has(message.offset));
}
