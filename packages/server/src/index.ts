export { createTetherServer } from './server.js';
export type { TetherServer, PublishInput, PublishResult, DeliveryStats, PushStats } from './api.js';
export type { InProcessReads, HistoryOptions, PresenceReadOptions } from './in-process-reads.js';
export type { HistoryResponse, UserPresenceResponse, ChannelPresenceResponse, Envelope } from '@tether/protocol';
export { defaults, type TetherServerOptions, type ApiKey, type DashboardOptions } from './options.js';
export type {
  StatsAnswer,
  NodeShare,
  ClusterTotal,
  Rates,
  BacklogChannel,
  AlertLike,
  PresenceCounts,
} from './stats/types.js';
export type { TraceAnswer, TraceQuestion, DeviceTrace } from './stats/trace.js';
export { noLimits, type LimitOptions } from './limits/limit-options.js';
export type { AuthContext, AuthorizeHook, ChannelAction } from './auth/context.js';
export type { RelevanceRule, RelevanceRules, RelevanceContext } from './delivery/relevance.js';
export type { PushProvider, PushNotice, PushDevice, PushOutcome, PushPriority } from './push/provider.js';
export { pushDefaults, type PushOptions, type PushPolicy, type PublishPush } from './push/options.js';
export { WebhookProvider, webhookDefaults, type WebhookProviderOptions, type WebhookPushBody } from './push/webhook.js';
export { signWebhook, newWebhookSecret } from './push/standard-webhooks.js';
export type { PushStore, PushDue, DeviceMatch } from './store/push-types.js';
export type * from './store/types.js';
export { defaultRetention, UNWRITTEN_EPOCH } from './store/types.js';
export { openStore, MemoryLogStore, SqliteLogStore } from './store/index.js';
export { issueToken, type IssueTokenOptions } from './auth/issue-token.js';
export type { JwtPublicKeyInput } from './auth/public-keys.js';
export type {
  PresenceStore,
  ReadStateStore,
  DeviceEntry,
  MembershipKey,
  PresenceStatus,
  DeviceStatus,
  PresenceMember,
  PurgedUser,
} from './presence/types.js';
export { MemoryPresenceStore } from './presence/memory-presence-store.js';
export type {
  PresenceOptions,
  PresenceChannelRule,
  PresenceMode,
  LastActiveContext,
} from './presence/presence-options.js';
export type { BatchRelay, AppendedBatch } from './delivery/fanout.js';
export type { ClusterOptions } from './cluster/redis-cluster.js';
export { alertDefaults, type AlertOptions } from './alerts/options.js';
export type { AlertRecord, AlertEvent, AlertKind, AlertSeverity, TargetResult } from './alerts/types.js';
export { discordBodyOf, type DiscordTargetOptions, type DiscordBody } from './alerts/discord.js';
export { slackBodyOf, type SlackTargetOptions, type SlackBody } from './alerts/slack.js';
export type { WebhookAlertOptions, WebhookAlertBody } from './alerts/webhook-target.js';
export type { EmailTargetOptions } from './alerts/email.js';
export type { NodeInfo } from './cluster/node-registry.js';
export {
  createFcmProvider,
  fcmDefaults,
  type FcmProviderOptions,
  type FcmServiceAccount,
  type FcmNotification,
} from './push/fcm.js';
export { createWebPushProvider, webPushDefaults, type WebPushProviderOptions } from './push/webpush.js';
