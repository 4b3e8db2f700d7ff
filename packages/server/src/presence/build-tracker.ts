/**
 * The tracker as the composition root builds it: presence options resolved (undefined: off), the
 * store (the option's, else memory), lastSeen (the log store's ReadStateStore, else in memory),
 * and diffs broadcast to the channel's Socket.IO room (the cluster adapter carries them to the
 * other nodes' members).
 */
import type { Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { streamOf } from '../delivery/channel-registry.js';
import { LocalLastSeen } from './last-active.js';
import { MemoryPresenceStore } from './memory-presence-store.js';
import { resolvePresenceOptions, type PresenceOptions } from './presence-options.js';
import { PresenceTracker } from './tracker.js';
import type { ReadStateStore } from './types.js';

export interface BuildTrackerDeps {
  io: SocketIOServer;
  /** The log store's read state, if it has one (`LogStore.readState`). */
  readState: ReadStateStore | undefined;
  nodeId: () => string;
  log: Logger;
  now: () => number;
}

export function buildPresenceTracker(
  options: PresenceOptions | undefined,
  deps: BuildTrackerDeps,
): PresenceTracker | undefined {
  const resolved = resolvePresenceOptions(options);
  if (!resolved) return undefined;
  return new PresenceTracker({
    store: resolved.store ?? new MemoryPresenceStore(),
    options: resolved,
    nodeId: deps.nodeId,
    // Socket.IO encodes a broadcast once (and builds its websocket frame once) for all its sockets.
    broadcast: (tenant, channel, frame, except) => {
      const room = deps.io.to(streamOf(tenant, channel));
      (except.length > 0 ? room.except([...except]) : room).emit('presence', frame);
    },
    // Each socket is in a room of its own id; `local`: they are all on this node.
    sendSnapshot: (socketIds, frame) => deps.io.local.to([...socketIds]).emit('presence', frame),
    lastSeen: deps.readState ?? new LocalLastSeen(),
    log: deps.log,
    now: deps.now,
  });
}
