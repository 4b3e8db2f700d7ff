import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Server as SocketIOServer } from 'socket.io';
import { ErrorCode, TetherError } from '@tether/protocol';
import { NodeRegistry, newNodeId, type NodeInfo } from './node-registry.js';
import { StatsBoard } from './stats-board.js';
import { ioredis, redisAdapter } from '../store/redis-modules.js';

export interface ClusterOptions {
  /** Redis shared by the nodes (the adapter's pub/sub and node liveness). */
  redisUrl: string;
  /** This node's id. Default: host-pid-random. */
  nodeId?: string;
  /** Node heartbeat period; a node unseen for 3 periods is gone. Default 5000. */
  heartbeatMs?: number;
  /** Key prefix for liveness keys. Default `tether:`. */
  keyPrefix?: string;
}

export interface Cluster {
  readonly nodeId: string;
  /** The node-state connection (alerts claim their events on it, alerts/claims.ts). */
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly heartbeatMs: number;
  liveNodes(): Promise<NodeInfo[]>;
  /** Each node's share of `/v1/stats`, in the same Redis. */
  readonly stats: StatsBoard;
  close(): Promise<void>;
}

/**
 * Joins this node to a cluster: the Socket.IO Redis adapter (sharded pub/sub on Redis ≥ 7, the
 * classic one before) carries cross-node traffic, and a heartbeat key says the node is alive.
 * Clients reconnect forever in the background: while Redis is away, the node keeps serving what
 * it can, and it recovers by itself.
 */
export async function joinCluster(
  io: SocketIOServer,
  options: ClusterOptions,
  log: Logger,
  onNodeGone?: (nodeId: string) => void,
  onNodeUp?: (nodeId: string, liveNodes: number) => void,
): Promise<Cluster> {
  const { Redis: RedisClient } = ioredis();
  const connect = (name: string, extra: RedisOptions = {}): Redis =>
    new RedisClient(options.redisUrl, {
      connectionName: `tether-${name}`,
      lazyConnect: true,
      retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
      ...extra,
    });
  const pub = connect('pub');
  const sub = connect('sub');
  // Liveness and claims fail fast while Redis is away (a heartbeat queued for 35 s is worse than a
  // missed one); the next beat tries again.
  const state = connect('nodes', { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 5000 });
  for (const client of [pub, sub, state]) {
    client.on('error', (err: Error) => log.debug({ err }, 'cluster redis connection error'));
  }
  try {
    await Promise.all([pub.connect(), sub.connect(), state.connect()]);
  } catch (err) {
    for (const client of [pub, sub, state]) client.disconnect();
    throw new TetherError(
      ErrorCode.StoreUnavailable,
      `cannot reach the cluster's Redis at ${redacted(options.redisUrl)}`,
      {
        cause: err,
      },
    );
  }

  const version = /redis_version:(\d+)/.exec(await pub.info('server'))?.[1];
  const sharded = Number(version ?? 0) >= 7;
  const { createAdapter, createShardedAdapter } = redisAdapter();
  io.adapter(sharded ? createShardedAdapter(pub, sub, { subscriptionMode: 'static' }) : createAdapter(pub, sub));
  log.info({ sharded, redisVersion: version }, 'cluster adapter ready');

  const nodeId = options.nodeId ?? newNodeId();
  const keyPrefix = options.keyPrefix ?? 'tether:';
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const registry = new NodeRegistry(state, nodeId, { keyPrefix, heartbeatMs, onNodeGone, onNodeUp }, log);
  registry.start();
  const stats = new StatsBoard(state, keyPrefix);

  return {
    nodeId,
    redis: state,
    keyPrefix,
    heartbeatMs,
    liveNodes: () => registry.liveNodes(),
    stats,
    async close() {
      await registry.stop();
      await stats.remove(nodeId);
      for (const client of [pub, sub, state]) client.disconnect();
    },
  };
}

/** The URL without its password, for messages and logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid URL';
  }
}
