/**
 * `tether genconfig`: a starting configuration file with fresh secrets, every section present with
 * the server's defaults, and `"//"` comments (accepted and ignored by the loader) saying what each is.
 */
import { randomBytes } from 'node:crypto';
import { defaults } from '../options.js';
import { pushDefaults } from '../push/options.js';
import { alertDefaults } from '../alerts/options.js';
import { newWebhookSecret } from '../push/standard-webhooks.js';
import { COMMENT_KEY } from './load.js';

export function generateConfig(): string {
  const l = defaults.limits;
  const config = {
    [COMMENT_KEY]: [
      'Tether server configuration (tether serve --config FILE). Keys "//" are comments.',
      'A flag or TETHER_* variable wins over this file; see docs/operations.md §1.',
      'This file holds secrets: keep it mode 0600 and out of version control.',
    ],
    server: {
      [COMMENT_KEY]: [
        'host 0.0.0.0 to be reachable from the network; relative paths are from the working directory.',
        'store (default sqlite:<dataDir>/tether.db): memory | sqlite:PATH | redis://HOST:PORT (a cluster)',
      ],
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      logLevel: 'info',
      logFormat: 'auto',
    },
    auth: {
      [COMMENT_KEY]:
        'HS256 secret of user tokens; or jwtPublicKeys (PEM / JWK) or jwksUrl, with jwtIssuer, jwtAudience',
      jwtSecret: randomBytes(32).toString('base64url'),
      maxTokenLifetimeSeconds: defaults.maxTokenLifetimeSeconds,
      clockSkewSeconds: defaults.clockSkewSeconds,
      tokenCacheSize: defaults.tokenCacheSize,
      tokenCacheTtlMs: defaults.tokenCacheTtlMs,
    },
    apiKeys: [
      {
        [COMMENT_KEY]:
          'POST /v1/publish with Authorization: Bearer KEY; tenant: the one tenant it may publish to, * for any',
        key: `tk_${randomBytes(24).toString('base64url')}`,
        tenant: '*',
      },
    ],
    adminKeys: [`ta_${randomBytes(24).toString('base64url')}`],
    dashboard: {
      [COMMENT_KEY]:
        'The dashboard page at path; it and GET /v1/stats, /v1/trace take a key of adminKeys (Authorization: Bearer KEY)',
      enabled: defaults.dashboard.enabled,
      path: defaults.dashboard.path,
    },
    http: {
      [COMMENT_KEY]: 'corsOrigins: e.g. https://app.example.com; trustedProxies: addresses or CIDR ranges',
      corsOrigins: [],
      trustedProxies: [],
      allowPollingTransport: false,
      listenBacklog: defaults.listenBacklog,
      perMessageDeflate: false,
    },
    retention: {
      [COMMENT_KEY]: [
        'Per stream: the last maxMessages, none older than maxAgeMs.',
        'perChannel: e.g. { "channels": "chat:*", "maxMessages": 5000, "maxAgeMs": 86400000 }; first match wins',
      ],
      maxMessages: defaults.retention.maxMessages,
      maxAgeMs: defaults.retention.maxAgeMs,
      idempotencyWindowMs: defaults.retention.idempotencyWindowMs,
      perChannel: [],
    },
    relevance: {
      [COMMENT_KEY]: [
        'By message type (* for every other type), dropped on every path (live, redelivery, replay, HTTP, push);',
        'scope: supersede only by a message with the same data.tripId (no scope: any of that type):',
        '"trip:requested": { "supersededBy": ["trip:cancelled", "trip:taken"], "scope": "tripId" }',
        '"driver:location": { "ttl": 8000, "collapseKey": "driverId" }',
      ],
    },
    limits: {
      [COMMENT_KEY]: 'Sizes in bytes; rate limits per second or minute as named; 0 turns a rate limit off',
      maxPayloadBytes: defaults.maxPayloadBytes,
      maxDataDepth: defaults.maxDataDepth,
      maxInvalidFramesPerMinute: defaults.maxInvalidFramesPerMinute,
      maxChannelsPerConnection: defaults.maxChannelsPerConnection,
      maxQueuedBytes: defaults.maxQueuedBytes,
      maxBatchBytes: defaults.maxBatchBytes,
      maxRedeliveryBytesPerSweep: defaults.maxRedeliveryBytesPerSweep,
      replayCacheBytes: defaults.replayCacheBytes,
      sqliteCheckpointPages: defaults.sqliteCheckpointPages,
      sqliteCheckpointIntervalMs: defaults.sqliteCheckpointIntervalMs,
      priorityLookahead: defaults.priorityLookahead,
      maxHistoryLimit: defaults.maxHistoryLimit,
      busyLoopLagMs: defaults.busyLoopLagMs,
      busyRetryAfterMs: defaults.busyRetryAfterMs,
      broadcastChunkSize: defaults.broadcastChunkSize,
      broadcastSliceMs: defaults.broadcastSliceMs,
      maxHandshakesInProgress: defaults.maxHandshakesInProgress,
      connectionAttemptsPerSecondPerIp: l.connectionAttemptsPerSecondPerIp,
      connectionAttemptBurstPerIp: l.connectionAttemptBurstPerIp,
      maxConnectionsPerIp: l.maxConnectionsPerIp,
      maxConnections: l.maxConnections,
      eventsPerMinutePerUser: l.eventsPerMinutePerUser,
      eventsPerMinutePerConnection: l.eventsPerMinutePerConnection,
      maxRefusalsPerConnection: l.maxRefusalsPerConnection,
      httpPublishesPerSecondPerApiKey: l.httpPublishesPerSecondPerApiKey,
      httpRequestsPerMinutePerUser: l.httpRequestsPerMinutePerUser,
      dryRun: l.dryRun,
    },
    timings: {
      [COMMENT_KEY]: 'Milliseconds (maxPollWaitSeconds: seconds)',
      ackTimeoutMs: defaults.ackTimeoutMs,
      retryAckTimeoutMs: defaults.retryAckTimeoutMs,
      retryDelayMs: defaults.retryDelayMs,
      maxRetries: defaults.maxRetries,
      redeliveryBackoff: defaults.redeliveryBackoff,
      redeliveryMaxLoopLagMs: defaults.redeliveryMaxLoopLagMs,
      pruneIntervalMs: defaults.pruneIntervalMs,
      headCheckIntervalMs: defaults.headCheckIntervalMs,
      presenceLeaseMs: defaults.presenceLeaseMs,
      pingIntervalMs: defaults.pingIntervalMs,
      pingTimeoutMs: defaults.pingTimeoutMs,
      connectTimeoutMs: defaults.connectTimeoutMs,
      maxPollWaitSeconds: defaults.maxPollWaitSeconds,
      statsIntervalMs: defaults.statsIntervalMs,
    },
    metrics: {
      [COMMENT_KEY]: [
        'Prometheus: GET path on the server port with Authorization: Bearer <an adminKeys entry>,',
        'or set port (and host) to serve it there without a key (docs/operations.md, Monitoring)',
      ],
      enabled: defaults.metrics.enabled,
      path: defaults.metrics.path,
      host: defaults.metrics.host,
      nodeMetrics: defaults.metrics.nodeMetrics,
      maxNamespaces: defaults.metrics.maxNamespaces,
      successWindowMs: defaults.metrics.successWindowMs,
    },
    push: {
      [COMMENT_KEY]: [
        'The push fallback (docs/push.md), milliseconds. A webhook provider to your backend:',
        `"webhook": { "url": "https://api.example.com/tether-push", "secret": "${newWebhookSecret()}" }`,
        'policies by message type: "trip:requested": { "ackWithin": 10000 } (or publish with push: true)',
      ],
      policies: {},
      ackWithin: pushDefaults.ackWithin,
      maxDevicesPerUser: pushDefaults.maxDevicesPerUser,
      maxAttempts: pushDefaults.maxAttempts,
      retryBaseMs: pushDefaults.retryBaseMs,
      retryMaxMs: pushDefaults.retryMaxMs,
      claimTtlMs: pushDefaults.claimTtlMs,
      leaseMs: pushDefaults.leaseMs,
      pollIntervalMs: pushDefaults.pollIntervalMs,
      queryTimeoutMs: pushDefaults.queryTimeoutMs,
    },
    alerts: {
      [COMMENT_KEY]: [
        'Alerts (docs/operations.md §9): node down/up, store down/up, delivery ratio, missed and slow-consumer spikes,',
        'once per event cluster-wide per cooldown. Targets (secrets as the value, {"file": PATH} or {"env": NAME}):',
        '"discord": { "url": {"env": "DISCORD_WEBHOOK"} }, "slack": { "url": {"env": "SLACK_WEBHOOK"} },',
        `"webhook": { "url": "https://ops.example.com/tether-alerts", "secret": "${newWebhookSecret()}" },`,
        '"email": { "host": "smtp.example.com", "user": "…", "pass": {"env": "SMTP_PASSWORD"}, "from": "…", "to": ["…"] }',
      ],
      cooldownMs: alertDefaults.cooldownMs,
      checkIntervalMs: alertDefaults.checkIntervalMs,
      windowMs: alertDefaults.windowMs,
      deliveryRatioBelow: alertDefaults.deliveryRatioBelow,
      minDeliveries: alertDefaults.minDeliveries,
      missedPerWindow: alertDefaults.missedPerWindow,
      slowConsumersPerWindow: alertDefaults.slowConsumersPerWindow,
      timeoutMs: alertDefaults.timeoutMs,
      maxAttempts: alertDefaults.maxAttempts,
      retryBaseMs: alertDefaults.retryBaseMs,
    },
  };
  return JSON.stringify(config, null, 2) + '\n';
}
