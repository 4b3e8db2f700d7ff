/**
 * Whether a due push is still worth sending: its message is still in the log of the same epoch,
 * and the relevance rules (ttl, supersession, collapse, `isRelevant`) keep it against the
 * channel's later messages — the same rules replay applies.
 */
import type { DropReason, RelevanceFilter, MessageTraits } from '../delivery/relevance.js';
import type { LogStore, StoredMessage } from '../store/types.js';
import type { PushDue } from '../store/push-types.js';

/** Later messages read per page, and pages read at most: supersession looks this far ahead. */
const PAGE = 500;
const MAX_PAGES = 20;

/** `rule`: the relevance rule that dropped it (counted on path `push`); none when it left the log. */
export type RelevanceVerdict =
  { relevant: true; message: StoredMessage } | { relevant: false; why: string; rule?: DropReason };

export async function checkRelevance(
  store: LogStore,
  relevance: RelevanceFilter,
  stream: string,
  due: PushDue,
  now: number,
): Promise<RelevanceVerdict> {
  const first = await store.read(stream, due.offset - 1, PAGE);
  if (first.epoch !== due.epoch) return { relevant: false, why: 'epoch changed' };
  const message = first.messages[0];
  if (message?.offset !== due.offset) return { relevant: false, why: 'gone from the log' };
  const traits: MessageTraits[] = first.messages.map((m) => relevance.traitsOf(m, due.channel));
  let last = first.messages.at(-1)!.offset;
  for (let page = 1; page < MAX_PAGES && last < first.head; page++) {
    const next = await store.read(stream, last, PAGE);
    if (next.epoch !== due.epoch || next.messages.length === 0) break;
    for (const m of next.messages) traits.push(relevance.traitsOf(m, due.channel));
    last = next.messages.at(-1)!.offset;
  }
  const drop = relevance.staticDrops(traits, now).get(due.offset);
  if (drop) return { relevant: false, why: drop, rule: drop };
  const ctx = { tenant: due.tenant, sub: due.sub, deviceId: 'push', channel: due.channel };
  const asked = await relevance.askHooks([message], ctx);
  if (asked.drops.length > 0) return { relevant: false, why: 'irrelevant', rule: 'irrelevant' };
  return { relevant: true, message };
}
