/**
 * The composition root: builds the store, the Socket.IO server, the delivery core and the HTTP
 * API, and wires them to one HTTP server.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server as SocketIOServer } from 'socket.io';
import { pino, type Logger } from 'pino';
import { ErrorCode, TetherError, httpPublishSchema, parseFrame, DEFAULT_TENANT } from '@tether/protocol';
import type { PublishInput, PublishResult, TetherServer } from './api.js';
import type { TetherServerOptions, ResolvedOptions } from './options.js';
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
import { AckLedger } from './delivery/ack-ledger.js';
import { ClientConnection, type TetherSocket } from './delivery/connection.js';
import { RedeliverySweeper } from './delivery/sweeper.js';
import { SlowConsumerGuard } from './delivery/slow-consumers.js';
import { checkPayloadSize } from './delivery/payload.js';
import { buildHttpApi } from './http/api.js';
import { routeHttp } from './http/route-http.js';
import { joinCluster } from './cluster/redis-cluster.js';
import { Guard } from './guard/guard.js';
import { eventTolerantParser } from './guard/event-parser.js';
import { InvalidFrameBudget } from './guard/invalid-frames.js';
import { checkDataShape } from './guard/data-shape.js';
import { Limits } from './limits/limits.js';

/** Channel states idle this long with no local subscriber are forgotten (they reload from the store). */
const CHANNEL_IDLE_MS = 60_000;

export async function createTetherServer(options: TetherServerOptions): Promise<TetherServer> {
  const o = resolveOptions(options);
  const log = makeLogger(o);
  const store: LogStore = typeof o.store === 'string' ? openStore(o.store, o.retention) : o.store;
  const ownsStore = typeof o.store === 'string';
  const httpServer = o.httpServer ?? http.createServer();
  const ownsHttpServer = o.httpServer === undefined;

  let closing = false;
  const closingController = new AbortController();
  const isClosing = (): boolean => closing;
  const verifyToken = tokenVerifierFromOptions(o, log);

  const stats = new StatsCounter();
  const guard = new Guard(log);
  const invalidFrames = new InvalidFrameBudget(o.maxInvalidFramesPerMinute);
  const limits = new Limits(o, stats, log);
  const registry = new ChannelRegistry(store, o.recentPerChannel);
  const signal = new AppendSignal();
  const ackLedger = new AckLedger();
  const permissions = new Permissions(o.authorize);
  const relevance = new RelevanceFilter(o.relevance, (err, message) =>
    log.warn({ err, channel: message.channel, offset: message.offset }, 'isRelevant hook threw; message kept'),
  );
  const replayer = new Replayer(store, relevance, stats, o.replayBatchSize);

  const ready = async (): Promise<boolean> => {
    try {
      await store.ping();
      return !closing;
    } catch {
      return false;
    }
  };

  const publishMany = async (inputs: readonly PublishInput[]): Promise<PublishResult[]> => {
    if (closing) throw new TetherError(ErrorCode.ShuttingDown, 'server is shutting down');
    const checked = inputs.map((input) => {
      const body = parseFrame(httpPublishSchema, input, 'publish input');
      checkDataShape(body.data, o.maxDataDepth, o.maxPayloadBytes);
      checkPayloadSize(body.data, o.maxPayloadBytes);
      return body;
    });
    return Promise.all(
      checked.map(async ({ tenant = DEFAULT_TENANT, channel, id = randomUUID(), ...rest }) => {
        const result = await publisher.publish(tenant, channel, { ...rest, id, ts: Date.now() });
        return { offset: result.offset, epoch: result.epoch, duplicate: result.duplicate };
      }),
    );
  };

  const app = await buildHttpApi({
    store,
    replayer,
    permissions,
    ackLedger,
    signal,
    stats,
    log,
    apiKeys: o.apiKeys,
    verifyToken,
    publish: async (input) => (await publishMany([input]))[0]!,
    ready,
    closing: closingController.signal,
    maxPayloadBytes: o.maxPayloadBytes,
    maxChannelsPerConnection: o.maxChannelsPerConnection,
    replayBatchSize: o.replayBatchSize,
    maxBatchBytes: o.maxBatchBytes,
    maxPollWaitSeconds: o.maxPollWaitSeconds,
    corsOrigins: o.corsOrigins,
    guard,
    maxDataDepth: o.maxDataDepth,
    trustProxy: limits.trustProxy,
    limitHttpPublish: (apiKey) => limits.httpPublish(apiKey),
  });
  // Before Socket.IO attaches: it then hands every non-Socket.IO request on to this router.
  routeHttp(httpServer, app, ownsHttpServer);

  const io = new SocketIOServer(httpServer, {
    path: o.socketPath,
    serveClient: false,
    pingInterval: o.pingIntervalMs,
    pingTimeout: o.pingTimeoutMs,
    // A frame may carry `data` at its limit plus the envelope; larger frames end the connection.
    maxHttpBufferSize: o.maxPayloadBytes * 2 + 16_384,
    cors: o.corsOrigins.length > 0 ? { origin: o.corsOrigins, credentials: true } : undefined,
    // A malformed event packet is answered `bad_request` instead of closing the connection.
    parser: eventTolerantParser(o.maxDataDepth),
    transports: o.allowPollingTransport ? ['polling', 'websocket'] : ['websocket'],
    connectTimeout: o.connectTimeoutMs,
  });
  // In front of Engine.IO: attempts and caps are refused before a session exists.
  limits.gate.attach(httpServer, io.engine);
  const clusterOptions =
    o.cluster ?? (typeof o.store === 'string' && /^rediss?:\/\//.test(o.store) ? { redisUrl: o.store } : false);
  const cluster = clusterOptions ? await joinCluster(io, clusterOptions, log) : undefined;
  const relay = o.relay ?? cluster?.relay;
  const fanout = new Fanout(store, registry, io, stats, signal, log, relay, o.replayBatchSize);
  const publisher = new Publisher(store, registry, fanout, stats, log);
  const connections = new Set<ClientConnection>();
  const sweeper = new RedeliverySweeper(connections, o, stats, ackLedger, o.push, log);
  const slowConsumers = new SlowConsumerGuard(connections, o.maxQueuedBytes, stats, log);

  io.use(limits.connectMiddleware());
  io.use(
    handshakeMiddleware({
      verifyToken,
      maxChannelsPerConnection: o.maxChannelsPerConnection,
      isClosing,
      guard,
      onFailure: (err) => {
        if (err.code === ErrorCode.Unauthorized || err.code === ErrorCode.TokenExpired) stats.values.authFailures++;
        else stats.values.rejectedFrames++;
      },
    }),
  );
  io.use(limits.cutUserMiddleware());
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
  const onConnection = (socket: TetherSocket): void => {
    const { ctx, positions } = socket.data as HandshakeData;
    socket.use(limits.eventMiddleware(socket, ctx));
    const connection = new ClientConnection(socket, ctx, {
      registry,
      publisher,
      fanout,
      replayer,
      permissions,
      stats,
      ackLedger,
      log,
      verifyToken,
      maxChannelsPerConnection: o.maxChannelsPerConnection,
      maxPayloadBytes: o.maxPayloadBytes,
      replayBatchSize: o.replayBatchSize,
      isClosing,
      guard,
      invalidFrames,
      maxDataDepth: o.maxDataDepth,
      slowConsumers,
      maxQueuedBytes: o.maxQueuedBytes,
      maxBatchBytes: o.maxBatchBytes,
    });
    connections.add(connection);
    stats.values.connections++;
    socket.on('disconnect', () => {
      connections.delete(connection);
      stats.values.connections--;
    });
    slowConsumers.greet(connection);
    connection.start(positions);
    // The app's hook failing is logged as `internal`; the connection stays.
    const noop = (): void => undefined;
    guard.run(
      () => ({ socketId: socket.id, tenant: ctx.tenant, sub: ctx.sub, what: 'onConnection' }),
      () => o.onConnection?.(ctx),
      noop,
      noop,
    );
  };

  sweeper.start();
  slowConsumers.start();
  const housekeeping = setInterval(() => {
    const now = Date.now();
    registry.evictIdle(now, CHANNEL_IDLE_MS, (state) => publisher.isBusy(state));
    store.prune(now).catch((err: unknown) => log.warn({ err }, 'prune failed'));
  }, o.pruneIntervalMs);
  housekeeping.unref();
  // With other nodes appending, a lost relay batch or a store that lost its log must still reach
  // this node's subscribers even if nothing is published again.
  const headCheck = relay
    ? setInterval(() => {
        fanout.reconcile().catch((err: unknown) => log.warn({ err }, 'head check failed'));
      }, o.headCheckIntervalMs)
    : undefined;
  headCheck?.unref();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      closingController.abort();
      sweeper.stop();
      slowConsumers.stop();
      clearInterval(housekeeping);
      clearInterval(headCheck);
      await publisher.drain(); // accepted publishes are written and fanned out before sockets go
      await fanout.settled();
      if (ownsHttpServer) {
        await new Promise<void>((resolve) => {
          // Closing the transports (not a Socket.IO disconnect) makes clients reconnect and resume.
          void io.close(() => resolve());
          httpServer.closeAllConnections();
        });
      } else {
        io.engine.close();
      }
      await app.close();
      await cluster?.close();
      await limits.close();
      if (ownsStore) await store.close();
      log.info('tether closed');
    })();
    return closed;
  };

  return {
    httpServer,
    io,
    async listen(port = 0, host = '127.0.0.1') {
      if (!ownsHttpServer) throw new TypeError('listen() is for servers Tether created; listen on your own server');
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const address = httpServer.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      log.info({ port: bound, host, store: store.engine }, 'tether listening');
      return { port: bound, host, url: `http://${urlHost}:${bound}` };
    },
    publish: async (input) => (await publishMany([input]))[0]!,
    publishMany,
    stats: () => stats.snapshot(),
    nodeId: cluster?.nodeId,
    liveNodes: async () => (cluster ? cluster.liveNodes() : []),
    ready,
    close,
  };
}

function makeLogger(o: ResolvedOptions): Logger {
  if (o.logger === false) return pino({ level: 'silent' });
  if (o.logger === true) return pino({ level: 'info' });
  return pino({ level: o.logger.level });
}
