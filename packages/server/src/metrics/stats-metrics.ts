/**
 * The metrics read at scrape time from what the server already counts (StatsCounter, the channel
 * registry, the cluster's node list): docs/operations.md, "Monitoring", lists each one.
 */
import type { Registry } from 'prom-client';
import type { ChannelRegistry } from '../delivery/channel-registry.js';
import type { StatsCounter } from '../delivery/stats.js';
import type { NamespaceCounts } from './namespaces.js';
import { scrapedCounter, scrapedGauge } from './scraped.js';

export interface ScrapeSources {
  stats: StatsCounter;
  channels: ChannelRegistry;
  publishedBy: NamespaceCounts;
  /** The cluster's live nodes; undefined on a single node (reported as 1). */
  liveNodes: () => Promise<number | undefined>;
}

export function registerStatsMetrics(registry: Registry, s: ScrapeSources): void {
  const v = s.stats.values;
  const gauge = (name: string, help: string, labels: string[], read: Parameters<typeof scrapedGauge>[4]): void =>
    scrapedGauge(registry, name, help, labels, read);
  const counter = (name: string, help: string, labels: string[], read: Parameters<typeof scrapedCounter>[4]): void =>
    scrapedCounter(registry, name, help, labels, read);

  gauge('tether_connections', 'Socket connections open on this node.', [], (emit) => emit(v.connections));
  gauge('tether_subscriptions', 'Channel subscriptions (joined or joining) on this node.', [], (emit) => {
    let total = 0;
    for (const state of s.channels.all()) total += state.subscribers;
    emit(total);
  });
  gauge(
    'tether_active_channels',
    'Channels held in memory on this node (subscribed or recently active).',
    [],
    (emit) => {
      let total = 0;
      for (const _ of s.channels.all()) total++;
      emit(total);
    },
  );
  gauge('tether_handshakes_in_progress', 'Handshakes verified and not yet resumed.', [], (emit) =>
    emit(v.handshakesInProgress),
  );
  gauge(
    'tether_cluster_nodes',
    'Live nodes of the cluster as this node sees them (1 on a single node).',
    [],
    async (emit) => emit((await s.liveNodes()) ?? 1),
  );

  counter('tether_published_total', 'Messages appended by this node, by channel namespace.', ['namespace'], (emit) => {
    for (const [namespace, count] of s.publishedBy.entries()) emit({ namespace }, count);
  });
  counter(
    'tether_duplicates_ignored_total',
    'Publishes whose id was already published (nothing appended).',
    [],
    (emit) => emit(v.duplicatesIgnored),
  );
  counter(
    'tether_delivered_total',
    'Messages sent, by path: live (per socket), replay, http (poll answers).',
    ['path'],
    (emit) => {
      emit({ path: 'live' }, v.delivered.live);
      emit({ path: 'replay' }, v.delivered.replay);
      emit({ path: 'http' }, v.delivered.http);
    },
  );
  counter('tether_acked_total', '(message, device) pairs newly acknowledged, each once.', [], (emit) => emit(v.acked));
  counter('tether_redelivered_total', 'Messages sent again after their ack timeout.', [], (emit) =>
    emit(v.redelivered),
  );
  counter('tether_missed_total', 'Messages given up on for a connection after the last redelivery.', [], (emit) =>
    emit(v.missed),
  );
  counter(
    'tether_resyncs_total',
    'Readers told to resync, by reason (epoch, ahead, retention).',
    ['reason'],
    (emit) => {
      for (const [reason, count] of Object.entries(s.stats.resyncsBy)) emit({ reason }, count);
    },
  );
  counter(
    'tether_relevance_drops_total',
    'Messages dropped by the relevance rules, by rule and path.',
    ['rule', 'path'],
    (emit) => {
      for (const [path, byRule] of Object.entries(v.droppedBy)) {
        for (const [rule, count] of Object.entries(byRule)) emit({ rule, path }, count);
      }
    },
  );
  counter(
    'tether_rejected_frames_total',
    'Malformed frames and requests refused (bad_request, invalid_channel).',
    [],
    (emit) => emit(v.rejectedFrames),
  );
  counter(
    'tether_auth_failures_total',
    'Refused credentials, by reason (unauthorized, token_expired).',
    ['reason'],
    (emit) => {
      for (const [reason, count] of Object.entries(s.stats.authFailuresBy)) emit({ reason }, count);
    },
  );
  counter('tether_rate_limited_total', 'Refusals by the rate limits and caps, by layer.', ['layer'], (emit) => {
    // Every limit of stats().rateLimited by its name in snake case (connectionAttempts → connection_attempts).
    for (const [name, count] of Object.entries(v.rateLimited)) {
      if (name !== 'disconnects') emit({ layer: name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, count);
    }
  });
  counter('tether_rate_limit_disconnects_total', 'Connections cut for sending on while refused.', [], (emit) =>
    emit(v.rateLimited.disconnects),
  );
  counter('tether_busy_refusals_total', 'New connections refused with server_busy.', [], (emit) =>
    emit(v.busyRefusals),
  );
  counter('tether_slow_consumer_disconnects_total', 'Connections cut as slow consumers (maxQueuedBytes).', [], (emit) =>
    emit(v.slowConsumers),
  );

  counter('tether_push_candidates_total', '(message, user) pairs claimed for the push fallback.', [], (emit) =>
    emit(v.push.candidates),
  );
  counter(
    'tether_push_suppressed_total',
    'Push candidates not pushed, by reason (acked, irrelevant, no_target).',
    ['reason'],
    (emit) => {
      emit({ reason: 'acked' }, v.push.suppressedByAck);
      emit({ reason: 'irrelevant' }, v.push.suppressedByRelevance);
      emit({ reason: 'no_target' }, v.push.noTarget);
    },
  );
  counter('tether_push_retries_total', 'Push attempts that will be made again (5xx, 429, network).', [], (emit) =>
    emit(v.push.retries),
  );
  counter(
    'tether_push_results_total',
    'Pushes to a target, by provider and result (sent, failed, gone).',
    ['provider', 'result'],
    (emit) => {
      for (const result of ['sent', 'failed', 'gone'] as const) {
        for (const [provider, count] of Object.entries(v.push[result])) emit({ provider, result }, count);
      }
    },
  );
}
