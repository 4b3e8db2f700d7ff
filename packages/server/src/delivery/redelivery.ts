/**
 * What one connection is sent again (the sweeper's redelivery) and what a resume sends from the
 * ring, both through the relevance rules: redelivery is per socket and off the live fast path, so
 * it applies every rule, the app's hooks included; a resume's last step from the ring must stay
 * synchronous with its room join, so it applies the static rules (ttl, supersession, collapse).
 * A frame that left something out carries `from`/`upTo`, so the client moves past it; drops are
 * counted by path (`redelivery`, `replay`).
 */
import type { MsgFrame } from '@tether/protocol';
import type { StoredMessage } from '../store/types.js';
import type { ChannelState } from './channel-state.js';
import { sendMsgFrame } from './encoded-packet.js';
import type { RelevanceContext, RelevanceFilter } from './relevance.js';
import { countDrop, type DropPath } from './relevance-counts.js';
import { messageBytes, prefixWithin, type Replayer } from './replayer.js';
import type { Consumer, SlowConsumerGuard } from './slow-consumers.js';
import type { StatsCounter } from './stats.js';
import type { Subscription } from './subscription.js';

export interface RedeliveryDeps {
  replayer: Replayer;
  relevance: RelevanceFilter;
  stats: StatsCounter;
  slowConsumers: SlowConsumerGuard;
  replayBatchSize: number;
  maxBatchBytes: number;
  now: () => number;
}

/** Messages of a ring range past the static rules, and whether any was left out. */
export interface RecentSurvivors {
  messages: StoredMessage[];
  dropped: boolean;
}

/**
 * The static drops among `recent` (a range of the ring after `after`), judged against everything
 * the ring holds up to the channel's head (a later superseder beyond the range counts), counted on
 * `path`.
 */
export function recentSurvivors(
  relevance: RelevanceFilter,
  stats: StatsCounter,
  state: ChannelState,
  recent: readonly StoredMessage[],
  path: DropPath,
  now: number,
): RecentSurvivors {
  if (recent.length === 0) return { messages: [], dropped: false };
  const after = recent[0]!.offset - 1;
  const judged = state.recentRange(after, state.head) ?? recent;
  const drops = relevance.staticDrops(
    judged.map((m) => relevance.traitsOf(m, state.channel)),
    now,
  );
  if (drops.size === 0) return { messages: [...recent], dropped: false };
  const messages: StoredMessage[] = [];
  let dropped = false;
  for (const message of recent) {
    const reason = drops.get(message.offset);
    if (reason === undefined) messages.push(message);
    else {
      countDrop(stats, path, reason);
      dropped = true;
    }
  }
  return { messages, dropped };
}

/**
 * Sends `after+1 ..` of a subscription to this socket alone, at most one replay batch. Resolves
 * how many were sent, or `undefined` when they are no longer to be had (out of the ring and the
 * store's retention): the client was sent them once; the sweeper then counts them missed rather
 * than telling a live client to resync.
 */
export async function redeliver(
  consumer: Consumer,
  sub: Subscription,
  after: number,
  deps: RedeliveryDeps,
): Promise<number | undefined> {
  const { state } = sub;
  const ctx: RelevanceContext = {
    tenant: consumer.context.tenant,
    sub: consumer.context.sub,
    deviceId: consumer.context.deviceId,
    channel: state.channel,
  };
  const upTo = Math.min(state.head, after + deps.replayBatchSize);
  const recent = state.recentRange(after, upTo);
  if (!recent) {
    const outcome = await deps.replayer.read({
      stream: state.stream,
      position: { epoch: state.epoch, offset: after },
      ctx,
      target: upTo,
      maxBytes: deps.maxBatchBytes,
      path: 'redelivery',
    });
    if (outcome.kind === 'resync') return undefined;
    // Read through the relevance rules: `from`/`upTo` let the client move past what they skipped.
    if (outcome.messages.length > 0 || outcome.upTo > after) {
      if (!deps.slowConsumers.admit(consumer, outcome.bytes)) return 0;
      const frame: MsgFrame = {
        channel: state.channel,
        epoch: outcome.epoch,
        messages: outcome.messages,
        upTo: outcome.upTo,
        from: after + 1,
      };
      sendMsgFrame(consumer.socket, frame, state);
    }
    return outcome.messages.length;
  }
  const survivors = recentSurvivors(deps.relevance, deps.stats, state, recent, 'redelivery', deps.now());
  const fits = prefixWithin(survivors.messages, deps.maxBatchBytes);
  // The batch covers up to its last message, or to `upTo` when every survivor fits.
  const covered = fits.messages.length === survivors.messages.length ? upTo : fits.messages.at(-1)!.offset;
  const hooks = await deps.relevance.askHooks(fits.messages, ctx);
  for (const drop of hooks.drops) countDrop(deps.stats, 'redelivery', drop.reason);
  const skipped = survivors.dropped || hooks.drops.length > 0;
  if (hooks.kept.length === 0 && !skipped) return 0;
  const bytes = hooks.drops.length > 0 ? hooks.kept.reduce((sum, m) => sum + messageBytes(m), 0) : fits.bytes;
  if (!deps.slowConsumers.admit(consumer, bytes)) return 0;
  const frame: MsgFrame = { channel: state.channel, epoch: state.epoch, messages: hooks.kept };
  if (skipped) {
    frame.from = after + 1;
    frame.upTo = covered;
  }
  sendMsgFrame(consumer.socket, frame, state);
  return hooks.kept.length;
}
