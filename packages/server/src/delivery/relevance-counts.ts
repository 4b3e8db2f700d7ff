/**
 * Drops by the relevance rules, counted by reason and by the path that dropped them (stats()
 * `dropped` totals by reason, `droppedBy[path][reason]` splits them): every path calls
 * `countDrop`, so a drop is never just gone.
 */
import type { StatsCounter } from './stats.js';

export type DropReason = 'ttl' | 'superseded' | 'collapsed' | 'irrelevant';

/** Where a message was dropped: live fan-out, redelivery, socket replay, HTTP poll, the push fallback. */
export type DropPath = 'live' | 'redelivery' | 'replay' | 'http' | 'push';

export const DROP_PATHS: readonly DropPath[] = ['live', 'redelivery', 'replay', 'http', 'push'];

export type DropCounts = Record<DropReason, number>;

export function emptyDropCounts(): DropCounts {
  return { ttl: 0, superseded: 0, collapsed: 0, irrelevant: 0 };
}

export function emptyDropsByPath(): Record<DropPath, DropCounts> {
  return {
    live: emptyDropCounts(),
    redelivery: emptyDropCounts(),
    replay: emptyDropCounts(),
    http: emptyDropCounts(),
    push: emptyDropCounts(),
  };
}

/** Counts `count` messages dropped on `path` for `reason`. */
export function countDrop(stats: StatsCounter, path: DropPath, reason: DropReason, count = 1): void {
  stats.values.dropped[reason] += count;
  stats.values.droppedBy[path][reason] += count;
}
