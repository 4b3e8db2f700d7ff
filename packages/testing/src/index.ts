/** @tether/testing: real servers on port 0 (in-process or as a CLI child process), clients, waits. */
export { startServer, type StartServerOptions, type TestServer, type TestClaims } from './start-server.js';
export { testLimits, testLimitsEnv } from './test-limits.js';
export { startServerProcess, cliPath, type StartProcessOptions, type ServerProcess } from './start-process.js';
export {
  connectClient,
  isErrorReply,
  type ConnectOptions,
  type ConnectError,
  type TestClient,
  type TetherSocket,
} from './client.js';
export { collectMessages, type CollectedMessage, type MessageCollector } from './collect.js';
export { waitFor, waitUntil, DEFAULT_WAIT_MS, type Listenable } from './wait.js';
export { SlowStore, type SlowStoreOptions } from './slow-store.js';
export { TestBed } from './test-bed.js';
export {
  FaultProxy,
  startFaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type BlockMode,
  type BlockOptions,
  type BlockPathOptions,
} from './fault-proxy.js';
export { startRedis, respCommand, type RedisServer, type StartRedisOptions, type RespValue } from './redis-server.js';
export { RelayBus } from './relay-bus.js';
export { WebhookReceiver, type WebhookDelivery, type ScriptedAnswer } from './webhook-receiver.js';
export {
  RoundRobinProxy,
  startRoundRobinProxy,
  type ProxyTarget,
  type RoundRobinProxyOptions,
  type RoundRobinProxyStats,
} from './round-robin-proxy.js';
export {
  hostileNumber,
  hostileKey,
  hostileString,
  nestedText,
  jsonText,
  channelText,
  eventPayload,
  eventFrame,
  eventPacket,
  socketIoPacket,
  engineIoPacket,
  httpBody,
  INBOUND_EVENTS,
  type Arbitrary,
  type EventFrame,
  type EventFrameOptions,
  type InboundEvent,
} from './fuzz-frames.js';
export { startFakeFcm, type StartFakeFcmOptions, type FakeFcm, type FcmSendRecord } from './fake-fcm.js';
export {
  makeServiceAccount,
  type MakeServiceAccountOptions,
  type ServiceAccountJson,
  type ServiceAccountWithKey,
  type TokenRequestRecord,
} from './fake-fcm-auth.js';
export {
  startWebPushReceiver,
  type WebPushReceiver,
  type WebPushSubscriptionJson,
  type ReceivedPush,
  type RefusedPush,
} from './web-push-receiver.js';
export { decryptWebPush } from './web-push-decrypt.js';
export type { ScriptedFailure } from './http-fake.js';
export {
  startPrometheus,
  PROMETHEUS_BIN,
  type PrometheusServer,
  type PromSample,
  type ScrapeTarget,
  type StartPrometheusOptions,
} from './prometheus-server.js';
export {
  startDiscordReceiver,
  startSlackReceiver,
  discordProblems,
  slackProblems,
  type ChatReceiver,
  type ChatDelivery,
} from './chat-webhook-receivers.js';
export { startSmtpReceiver, type SmtpReceiver, type ReceivedMail, type StartSmtpOptions } from './smtp-receiver.js';
