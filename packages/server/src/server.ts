/**
 * The composition root, in the order it runs: (1) the store and the delivery core (fan-out,
 * publisher, sweeper), (2) the start gate (the cluster join begins), (3) the transports, HTTP then
 * Socket.IO, (4) the background timers, (5) the only awaits. Nothing receives a request before the
 * core exists, and whatever arrives during the awaits waits at the gate (StartupGate).
 */
import http from 'node:http';
import os from 'node:os';
import { Server as SocketIOServer } from 'socket.io';
import type { FastifyInstance } from 'fastify';
import type { TetherServer } from './api.js';
import type { TetherServerOptions } from './options.js';
import { resolveOptions } from './resolve-options.js';
import { openStore } from './store/index.js';
import type { LogStore } from './store/types.js';
import { Permissions } from './auth/permissions.js';
import { tokenVerifierFromOptions } from './auth/token-verifier-from-options.js';
import { handshakeMiddleware, type HandshakeData } from './auth/handshake.js';
import { StatsCounter } from './delivery/stats.js';
import { ChannelRegistry } from './delivery/channel-registry.js';
import { AppendSignal } from './delivery/append-signal.js';
import { Publisher } from './delivery/publisher.js';
import { Fanout } from './delivery/fanout.js';
import { RelevanceFilter } from './delivery/relevance.js';
import { Replayer } from './delivery/replayer.js';
import { RecentReads } from './delivery/recent-reads.js';
import { AckLedger } from './delivery/ack-ledger.js';
import { ClientConnection, type ConnectionDeps, type TetherSocket } from './delivery/connection.js';
import { ExpiryTimers } from './auth/expiry-timers.js';
import { RedeliverySweeper } from './delivery/sweeper.js';
import { SlowConsumerGuard } from './delivery/slow-consumers.js';
import { PublishDoor } from './delivery/publish-door.js';
import { StartupGate } from './delivery/startup-gate.js';
import { countRefusal } from './delivery/refusals.js';
import { Housekeeping } from './delivery/housekeeping.js';
import { buildHttpApi } from './http/api.js';
import type { ReplayPriorityDeps } from './delivery/replay-priority.js';
import { routeHttp } from './http/route-http.js';
import { socketIoOptions } from './http/socket-io-options.js';
import { listenOn } from './http/listen.js';
import { joinCluster, type Cluster } from './cluster/redis-cluster.js';
import { AdapterRelay } from './cluster/adapter-relay.js';
import { Guard } from './guard/guard.js';
import { InvalidFrameBudget } from './guard/invalid-frames.js';
import { Limits } from './limits/limits.js';
import { resolvePushOptions } from './push/options.js';
import { PushDispatcher } from './push/dispatcher.js';
import { LiveUsers, UserStateQuery } from './push/user-state.js';
import { MemoryPushStore } from './store/memory-push.js';
import { MemoryReadStateStore } from './store/memory-read-state.js';
import { ReadReceipts } from './presence/read-receipts.js';
import { StatsService, LOCAL_NODE } from './stats/stats-service.js';
import { Trace } from './stats/trace.js';
import { RecentDevices } from './stats/recent-devices.js';
import { buildPresenceTracker } from './presence/build-tracker.js';
import { ClusterPresence, clusterPresenceStore } from './presence/cluster-presence.js';
import { newNodeId } from './cluster/node-registry.js';
import { makeLogger } from './log/logger.js';
import { logConnection } from './log/connection-log.js';
import { createMetrics } from './metrics/metrics.js';
import { listenForMetrics, metricsRoute, type MetricsListener } from './metrics/http.js';
import { listenForProbes } from './http/probes.js';
import type { SideListener } from './http/side-listener.js';
import { Alerts } from './alerts/alerts.js';
import { AlertChecks } from './alerts/checks.js';
import { inProcessReads } from './in-process-reads.js';

/** A store read of a channel's head serves its other resuming readers this long (delivery/recent-reads.ts). */
const RECENT_READ_TTL_MS = 1000;

export async function createTetherServer(options: TetherServerOptions): Promise<TetherServer> {
  const o = resolveOptions(options);
  const { now } = o;
  const pushOptions = resolvePushOptions(options.push, now);
  const log = makeLogger(o.logger);
  // Metrics first: they wrap the store and observe the counters from the start (metrics/metrics.ts).
  const stats = new StatsCounter();
  const metrics = o.metrics.enabled ? createMetrics(o.metrics, stats) : undefined;
  let joinedNodeId: string | undefined;
  const alerts = new Alerts({ options: o.alerts, log, now, nodeName: () => joinedNodeId ?? os.hostname() });

  // 1. The core, before anything can receive a request or anything is awaited.
  const openedStore: LogStore =
    typeof o.store === 'string'
      ? openStore(o.store, o.retention, {
          checkpointPages: o.sqliteCheckpointPages,
          checkpointIntervalMs: o.sqliteCheckpointIntervalMs,
        })
      : o.store;
  const store = metrics ? metrics.timeStore(openedStore) : openedStore;
  const ownsStore = typeof o.store === 'string';
  const httpServer = o.httpServer ?? http.createServer();
  const ownsHttpServer = o.httpServer === undefined;
  let closing = false;
  const closingController = new AbortController();
  const isClosing = (): boolean => closing;
  const verifyToken = tokenVerifierFromOptions(o, log);

  const guard = new Guard(log);
  const invalidFrames = new InvalidFrameBudget(o.maxInvalidFramesPerMinute);
  const limits = new Limits(o, stats, log);
  const registry = new ChannelRegistry(store, o.recentPerChannel);
  const signal = new AppendSignal();
  const ackLedger = new AckLedger({ stats });
  const permissions = new Permissions(o.authorize);
  const relevance = new RelevanceFilter(o.relevance, (err, message) =>
    log.warn({ err, channel: message.channel, offset: message.offset }, 'isRelevant hook threw; message kept'),
  );
  const reads = new RecentReads({ store, maxBytes: o.replayCacheBytes, ttlMs: RECENT_READ_TTL_MS, now });
  const replayer = new Replayer({ store, relevance, stats, pageSize: o.replayBatchSize, now, reads });
  const replayPriority: ReplayPriorityDeps = {
    store,
    registry,
    createStates: true,
    permissions,
    lookahead: o.priorityLookahead,
    maxBytes: o.maxBatchBytes,
  };

  // Socket.IO exists (rooms, the relay's events) before it is attached to the HTTP server below.
  const io = new SocketIOServer(socketIoOptions(o));
  const clusterOptions =
    o.cluster ?? (typeof o.store === 'string' && /^rediss?:\/\//.test(o.store) ? { redisUrl: o.store } : false);
  const relay = o.relay ?? (clusterOptions ? new AdapterRelay(io) : undefined);
  // Known before the cluster is joined: presence entries name the node they live on.
  const nodeId = (clusterOptions && clusterOptions.nodeId) || newNodeId();
  const fanout = new Fanout({
    store,
    registry,
    io,
    stats,
    signal,
    log,
    relay,
    pageSize: o.replayBatchSize,
    now,
    broadcastChunkSize: o.broadcastChunkSize,
    broadcastSliceMs: o.broadcastSliceMs,
    relevance,
  });
  const publisher = new Publisher({ store, registry, fanout, stats, log });
  const connections = new Set<ClientConnection>();
  const tokenExpiry = new ExpiryTimers();
  const liveUsers = new LiveUsers();
  const pushStore = store.push ?? new MemoryPushStore();
  const readState = store.readState ?? new MemoryReadStateStore();
  const readReceipts = new ReadReceipts({ store, readState, permissions, io });
  const userState = new UserStateQuery(
    (q) => ({ live: liveUsers.has(q.tenant, q.sub), acked: ackLedger.ackedByUser(q.stream, q.sub) }),
    clusterOptions ? io : undefined,
    pushOptions.queryTimeoutMs,
    log,
  );
  const push =
    pushOptions.providers.length > 0
      ? new PushDispatcher({ store, push: pushStore, relevance, stats, userState, options: pushOptions, log, now })
      : undefined;
  const sweeper = new RedeliverySweeper({
    connections,
    policy: o,
    stats,
    ackLedger,
    push,
    log,
    now,
  });
  const slowConsumers = new SlowConsumerGuard(connections, o.maxQueuedBytes, stats, log, fanout);
  // User status and channel presence (docs/presence.md); undefined unless `presence` is given.
  // In a cluster, presence lives in Redis: any node reads it, survivors purge a dead node's entries.
  const presenceStore = clusterPresenceStore(clusterOptions, options.presence);
  const presenceOptions = presenceStore ? { ...options.presence, store: presenceStore } : options.presence;
  const presence = buildPresenceTracker(presenceOptions, {
    io,
    readState: store.readState,
    nodeId: () => nodeId,
    log,
    now,
  });
  let cluster: Cluster | undefined;
  // `/v1/stats` and the trace read the connections and ledgers in place; sampling keeps real time.
  const statsService = new StatsService({
    connections,
    registry,
    stats,
    intervalMs: o.statsIntervalMs,
    now: Date.now,
    log,
    deliverySummary: metrics?.summary,
    presenceCounts: presence ? () => presence.counts() : undefined,
    // The dashboard's "recent alerts": what this node raised, sent or suppressed by the cluster's dedupe.
    recentAlerts: () =>
      alerts.recent().map((a) => ({ at: a.at, event: a.kind, message: a.title, severity: a.severity, nodeId: a.node })),
  });
  const recentDevices = new RecentDevices();
  const trace = new Trace({
    connections,
    ackLedger,
    recentDevices,
    store,
    now,
    nodeId: () => cluster?.nodeId ?? LOCAL_NODE,
    io: clusterOptions ? io : undefined,
    timeoutMs: pushOptions.queryTimeoutMs,
    log,
  });
  metrics?.watch({
    channels: registry,
    liveNodes: async () => (cluster ? (await cluster.liveNodes()).length : undefined),
  });

  const alertChecks = new AlertChecks({
    alerts,
    stats: stats.values,
    pingStore: () => store.ping(),
    storeName: store.engine,
    now,
    deliverySummary: metrics?.summary,
  });

  // 2. The start: the cluster join (if any) begins now; publishes and handshakes wait for it.
  const joining = clusterOptions
    ? joinCluster(
        io,
        { ...clusterOptions, nodeId },
        log,
        (gone) => void alerts.nodeGone(gone),
        (up, live) => void alerts.nodeAppeared(up, live),
      )
    : Promise.resolve(undefined);
  const gate = new StartupGate(joining);
  const door = new PublishDoor({
    publisher,
    isClosing,
    gate,
    maxDataDepth: o.maxDataDepth,
    maxPayloadBytes: o.maxPayloadBytes,
    now,
    onAppended: push
      ? (tenant, channel, result, own) => push.published(tenant, channel, result.epoch, result.message, own)
      : undefined,
    ttlFor: (type, ttl) => relevance.ttlFor(type, ttl),
  });
  const ready = async (): Promise<boolean> => {
    if (!gate.isOpen) return false;
    try {
      await store.ping();
      return !closing;
    } catch {
      return false;
    }
  };

  // 3. The transports: HTTP first (Socket.IO hands on every request that is not its own), then Socket.IO.
  const building = buildHttpApi({
    store,
    replayer,
    replayPriority: { ...replayPriority, createStates: false },
    permissions,
    ackLedger,
    signal,
    stats,
    log,
    apiKeys: o.apiKeys,
    verifyToken,
    publish: (input) => door.publish(input),
    ready,
    closing: closingController.signal,
    maxPayloadBytes: o.maxPayloadBytes,
    maxChannelsPerConnection: o.maxChannelsPerConnection,
    replayBatchSize: o.replayBatchSize,
    maxBatchBytes: o.maxBatchBytes,
    maxHistoryLimit: o.maxHistoryLimit,
    maxPollWaitSeconds: o.maxPollWaitSeconds,
    corsOrigins: o.corsOrigins,
    guard,
    maxDataDepth: o.maxDataDepth,
    trustProxy: limits.trustProxy,
    limitHttpPublish: (apiKey) => limits.httpPublish(apiKey),
    limitHttpUser: (tenant, sub) => limits.httpRequest(tenant, sub),
    pushDevices: {
      push: pushStore,
      providers: pushOptions.providers,
      maxDevicesPerUser: pushOptions.maxDevicesPerUser,
      now,
    },
    readReceipts,
    relevance,
    now,
    admin: { adminKeys: o.adminKeys, stats: () => statsService.answer(), trace: (q) => trace.ask(q) },
    dashboardPath: o.dashboard.enabled ? o.dashboard.path : undefined,
    presence,
    routes: metrics && o.metrics.port === undefined ? [metricsRoute(metrics, o.metrics.path, o.adminKeys)] : [],
  });
  routeHttp(httpServer, building, ownsHttpServer, [
    ...(o.dashboard.enabled ? [o.dashboard.path] : []),
    ...(metrics && o.metrics.port === undefined ? [o.metrics.path] : []),
  ]);
  io.attach(httpServer);
  // In front of Engine.IO: attempts and caps are refused before a session exists.
  limits.gate.attach(httpServer, io.engine);

  io.use(limits.busy.middleware());
  io.use(limits.handshakes.middleware());
  io.use(limits.connectMiddleware());
  io.use(
    handshakeMiddleware({
      verifyToken,
      maxChannelsPerConnection: o.maxChannelsPerConnection,
      isClosing,
      guard,
      gate,
      onFailure: (err) => countRefusal(stats, err.code),
    }),
  );
  io.use(limits.cutUserMiddleware());
  // One deps object for every connection: an idle connection holds nothing of its own here.
  const connectionDeps: ConnectionDeps = {
    registry,
    publishDoor: door,
    fanout,
    replayer,
    permissions,
    stats,
    ackLedger,
    log,
    verifyToken,
    clockSkewSeconds: o.clockSkewSeconds,
    maxChannelsPerConnection: o.maxChannelsPerConnection,
    replayBatchSize: o.replayBatchSize,
    guard,
    invalidFrames,
    slowConsumers,
    maxQueuedBytes: o.maxQueuedBytes,
    maxBatchBytes: o.maxBatchBytes,
    now,
    replayPriority,
    relevance,
    readReceipts,
    expiry: tokenExpiry,
    presence,
    stopped: (connection) => {
      connections.delete(connection);
      presence?.disconnected(connection.socket.id);
      const { ctx } = connection.socket.data as HandshakeData;
      liveUsers.remove(ctx.tenant, ctx.sub);
      recentDevices.left(ctx.tenant, ctx.sub, ctx.deviceId, now());
      logConnection(log, connection.socket.id, ctx, 'closed');
      stats.values.connections--;
      limits.handshakes.done(connection.socket);
    },
  };
  const onConnection = (socket: TetherSocket): void => {
    const data = socket.data as HandshakeData;
    const { ctx, positions = {} } = data;
    // `start` copies them: an idle socket need not hold its handshake's positions for its life.
    data.positions = undefined;
    limits.connected(socket, ctx);
    const connection = new ClientConnection(socket, ctx, connectionDeps);
    connections.add(connection);
    liveUsers.add(ctx.tenant, ctx.sub);
    presence?.connected(socket.id, ctx);
    stats.values.connections++;
    limits.handshakes.begin(socket);
    slowConsumers.greet(connection);
    logConnection(log, socket.id, ctx, 'opened');
    connection.start(positions, () => limits.handshakes.done(socket));
    // The app's hook failing is logged as `internal`; the connection stays.
    const noop = (): void => undefined;
    guard.run(
      () => ({ socketId: socket.id, tenant: ctx.tenant, sub: ctx.sub, what: 'onConnection' }),
      () => o.onConnection?.(ctx),
      noop,
      noop,
    );
  };
  io.on('connection', (socket: TetherSocket) =>
    guard.run(
      () => ({ socketId: socket.id, what: 'connection' }),
      () => onConnection(socket),
      () => undefined,
      (err) => {
        socket.emit('error', err.toJSON());
        socket.disconnect(true);
      },
    ),
  );

  // 4. Background work.
  sweeper.start();
  slowConsumers.start();
  push?.start();
  statsService.start();
  alertChecks.start();
  const housekeeping = new Housekeeping({
    registry,
    publisher,
    store,
    fanout,
    log,
    now,
    pruneIntervalMs: o.pruneIntervalMs,
    headCheckIntervalMs: relay ? o.headCheckIntervalMs : undefined,
  });
  housekeeping.start();

  let app: FastifyInstance | undefined;
  let clusterPresence: ClusterPresence | undefined;
  let metricsListener: MetricsListener | undefined;
  let probeListener: SideListener | undefined;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      closingController.abort();
      sweeper.stop();
      slowConsumers.stop();
      statsService.stop();
      housekeeping.stop();
      tokenExpiry.close();
      presence?.close();
      await publisher.drain(); // accepted publishes are written and fanned out before sockets go
      await fanout.settled();
      await push?.stop(); // pushes in flight finish (a graceful restart cuts none in half)
      await alertChecks.stop();
      await alerts.close(); // alerts in flight get their answer (each bounded by alerts.timeoutMs)
      if (ownsHttpServer) {
        await new Promise<void>((resolve) => {
          // Closing the transports (not a Socket.IO disconnect) makes clients reconnect and resume.
          void io.close(() => resolve());
          httpServer.closeAllConnections();
        });
      } else {
        io.engine.close();
      }
      await app?.close();
      await clusterPresence?.stop();
      await metricsListener?.close();
      await probeListener?.close();
      await cluster?.close();
      await presenceStore?.close();
      await limits.close();
      if (ownsStore) await store.close();
      log.info('tether closed');
    })();
    return closed;
  };

  // 5. The awaits: the HTTP API ready, the cluster joined. A failure releases what was built.
  try {
    app = await building;
    cluster = await joining;
    if (cluster) statsService.joined(cluster);
    if (metrics && o.metrics.port !== undefined)
      metricsListener = await listenForMetrics(metrics, o.metrics.path, o.metrics.port, o.metrics.host);
    if (o.probePort !== undefined) probeListener = await listenForProbes(ready, o.probePort, o.probeHost);
    if (cluster) {
      joinedNodeId = cluster.nodeId;
      const { liveNodes } = cluster;
      alerts.share({
        redis: cluster.redis,
        keyPrefix: cluster.keyPrefix,
        isLive: async (nodeId) => (await liveNodes()).some((node) => node.nodeId === nodeId),
        confirmMs: 2 * cluster.heartbeatMs,
      });
    }
  } catch (err) {
    cluster ??= await joining.catch(() => undefined); // the API failed: leave no cluster connections behind
    await close().catch(() => undefined);
    throw err;
  }
  const leaseMs = o.presenceLeaseMs;
  if (presence && presenceStore)
    clusterPresence = new ClusterPresence({ store: presenceStore, tracker: presence, nodeId, leaseMs, log });
  clusterPresence?.start();

  return {
    httpServer,
    io,
    async listen(port = 0, host = '127.0.0.1') {
      if (!ownsHttpServer) throw new TypeError('listen() is for servers Tether created; listen on your own server');
      const bound = await listenOn(httpServer, port, host, o.listenBacklog);
      log.info({ port: bound.port, host, store: store.engine }, 'tether listening');
      return bound;
    },
    publish: (input) => door.publishInput(input),
    publishMany: (inputs) => door.publishMany(inputs),
    stats: () => stats.snapshot(),
    metrics: metrics && { summary: metrics.summary, url: metricsListener?.url },
    probeUrl: probeListener?.url,
    nodeId: cluster?.nodeId,
    liveNodes: async () => (cluster ? cluster.liveNodes() : []),
    recentAlerts: () => alerts.recent(),
    ...inProcessReads(
      { store, maxHistoryLimit: o.maxHistoryLimit, maxBatchBytes: o.maxBatchBytes, relevance, now },
      presence,
    ),
    ready,
    close,
  };
}
