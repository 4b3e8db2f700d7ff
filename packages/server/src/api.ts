/** The public shape of a running Tether server (see `createTetherServer` in server.ts). */
import type http from 'node:http';
import type { Server as SocketIOServer } from 'socket.io';
import type { MessagePriority } from '@tether/protocol';
import type { NodeInfo } from './cluster/node-registry.js';
import type { PublishPush } from './push/options.js';
import type { DeliverySummarySource } from './metrics/summary.js';
import type { AlertRecord } from './alerts/types.js';
import type { InProcessReads } from './in-process-reads.js';

export interface PublishInput {
  /** Tenant; default `default`. */
  tenant?: string;
  channel: string;
  type: string;
  data: unknown;
  /** Idempotency key; generated when absent. A repeat within the window returns the first offset. */
  id?: string;
  /** Milliseconds after publish at which the message is no longer relevant. */
  ttl?: number;
  /** Short for `push: true`: the push fallback with the default `ackWithin`. */
  critical?: boolean;
  collapseKey?: string;
  /**
   * `high`, `normal` (default) or `low`. Never reorders a channel; on resume and in poll answers,
   * channels with higher-priority messages pending are replayed first.
   */
  priority?: MessagePriority;
  /**
   * This message's push policy (docs/push.md): `true` (default `ackWithin`) or `{ ackWithin }` (ms).
   * Default: its type's policy (`push.policies`), if any.
   */
  push?: PublishPush;
}

export interface PublishResult {
  offset: number;
  epoch: string;
  /** True when the id was already published: nothing new was appended. */
  duplicate: boolean;
}

/**
 * Delivery counters since this process started (a restart starts them at 0); `GET /metrics`
 * exports the same (docs/operations.md, "Monitoring"). Each is counted in one place.
 */
export interface DeliveryStats {
  /** Socket connections open now. */
  connections: number;
  /** Messages appended by this node (duplicates not included). */
  published: number;
  duplicatesIgnored: number;
  /** Messages sent: live (× the room's sockets), by replay, in HTTP poll answers. */
  delivered: { live: number; replay: number; http: number };
  /**
   * (message, device) pairs newly acknowledged, each once: an ack counts the offsets it newly covers
   * for that device (socket `deviceId` from the handshake, HTTP `deviceId` of `/v1/ack`). A device
   * that resumes from a position is taken to have acked up to it (before a reconnect or a restart),
   * so acks it repeats after one add nothing.
   */
  acked: number;
  redelivered: number;
  missed: number;
  /** Messages dropped by the relevance rules, by reason (every path together). */
  dropped: { ttl: number; superseded: number; collapsed: number; irrelevant: number };
  /**
   * The same drops by path, then reason: `live` (fan-out: counted once per message, not per
   * socket), `redelivery`, `replay` (socket resume), `http` (poll answers), `push` (before a push).
   */
  droppedBy: Record<
    'live' | 'redelivery' | 'replay' | 'http' | 'push',
    { ttl: number; superseded: number; collapsed: number; irrelevant: number }
  >;
  resyncs: number;
  rejectedFrames: number;
  authFailures: number;
  /** The push fallback's funnel on this node (docs/push.md). */
  push: PushStats;
  /** Connections cut because more than `maxQueuedBytes` waited to be written to them (`slow_consumer`). */
  slowConsumers: number;
  /**
   * New connections refused with `server_busy`: the event loop lagged (`busyLoopLagMs`) or
   * `maxHandshakesInProgress` handshakes were in progress.
   */
  busyRefusals: number;
  /** Handshakes connected (token verified) and not yet resumed (a gauge; `maxHandshakesInProgress`). */
  handshakesInProgress: number;
  /** Refusals by the rate limits and caps (`rate_limited`; in `limits.dryRun`, what would have been refused). */
  rateLimited: {
    connectionAttempts: number;
    concurrentConnections: number;
    events: number;
    /** Connections cut for sending on while refused (`maxRefusalsPerConnection`). */
    disconnects: number;
    httpPublishes: number;
    /** Requests with a user token over `httpRequestsPerMinutePerUser`. */
    httpRequests: number;
  };
}

/**
 * The push funnel, each (message, user) counted once by the node that handled it: a candidate ends
 * suppressed (acked in time, or no longer relevant), with no target, or pushed to each target
 * (sent, failed or gone, by provider name).
 */
export interface PushStats {
  /** (message, user) pairs claimed for the push fallback (at most once across the cluster). */
  candidates: number;
  /** Not pushed: a device of the user acked it before it was due. */
  suppressedByAck: number;
  /** Not pushed: no longer relevant when due (expired, superseded, collapsed, `isRelevant` said no, gone from the log). */
  suppressedByRelevance: number;
  /** Not pushed: no provider had a target for the user. */
  noTarget: number;
  /** Attempts that will be made again (a 5xx, 429, network error). */
  retries: number;
  sent: Record<string, number>;
  /** Given up: a 4xx, or still failing after `push.maxAttempts`. */
  failed: Record<string, number>;
  /** The target said it no longer exists; it was unregistered. */
  gone: Record<string, number>;
}

/** The running server; its history and presence reads are `InProcessReads` (in-process-reads.ts). */
export interface TetherServer extends InProcessReads {
  readonly httpServer: http.Server;
  /**
   * The Socket.IO server. A socket's `request` is let go once it is connected (null from the
   * `connection` event on; `handshake` stays): docs/operations.md, "An idle connection".
   */
  readonly io: SocketIOServer;
  /** Listens (only when Tether created the HTTP server). Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>;
  publish(input: PublishInput): Promise<PublishResult>;
  /** Publishes in order; messages to one channel get consecutive offsets. */
  publishMany(inputs: readonly PublishInput[]): Promise<PublishResult[]>;
  stats(): DeliveryStats;
  /**
   * The metrics (`metrics.enabled`; docs/operations.md, "Monitoring"): the delivery summary, and
   * the URL of `metrics.port` when they are served there. Undefined when metrics are off.
   */
  readonly metrics: { summary: DeliverySummarySource; url: string | undefined } | undefined;
  /** `http://host:port` of the probes' own listener (`probePort`: `/healthz`, `/readyz`), or undefined. */
  readonly probeUrl: string | undefined;
  /** This node's id in a cluster; undefined on a single node. */
  readonly nodeId: string | undefined;
  /** The cluster's live nodes (heartbeat in Redis); empty on a single node. */
  liveNodes(): Promise<NodeInfo[]>;
  /** The latest alerts this node raised (at most 50), newest first: sent from here, or suppressed (docs/operations.md, "Alerts"). */
  recentAlerts(): AlertRecord[];
  /** True when the store answers. */
  ready(): Promise<boolean>;
  /** Graceful: stop accepting, finish writes, close sockets (clients reconnect and resume), close the store. */
  close(): Promise<void>;
}
