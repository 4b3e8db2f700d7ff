/** @tether/client: the Tether SDK for browsers and Node. */
export const VERSION = '0.1.0';

export { TetherClient, type ClientEvents, type ClientErrorContext, type ServerDownContext } from './client.js';
export {
  defaults,
  type ClientOptions,
  type ReconnectOptions,
  type FallbackOptions,
  type PublishQueueOptions,
  type HandlerRetryOptions,
  type Logger,
  type SocketFactory,
  type FetchFunction,
  type PresenceOptions,
} from './options.js';
export { ClientPresence, type PresenceStatusChange, type PresenceEvents } from './presence.js';
export type {
  MembersEvents,
  PresenceJoinContext,
  PresenceLeaveContext,
  PresenceUpdateContext,
  PresenceMembersContext,
} from './channel-members.js';
export type { ActivityStatus } from './activity.js';
export { ClientState, StatusReason, transitions, type StatusChange } from './state.js';
export {
  Subscription,
  SubscriptionState,
  type SubscribeOptions,
  type SubscriptionEvents,
  type SubscriptionStateChange,
  type SubscriptionErrorContext,
  type StaleContext,
} from './subscription.js';
export type { MessageHandler, ResyncContext, StaleReason } from './pipeline.js';
export type { EventMap, EventType, PublishArgs, TypedMessage, UntypedEvents } from './events.js';
export type { PublishOptions, PublishResult } from './publish-queue.js';
export type { HistoryOptions, HistoryPage } from './history.js';
export type { TypingContext } from './typing.js';
export type { ReadContext, UnreadContext } from './read-state.js';
export type { UnreadCount } from '@tether/protocol/wire';
export type { PushTarget, PushTargetMatch, PushRegistration } from './push-targets.js';
export type { ServerDownReport } from './server-down-report.js';
export { qualityOf, type ClientMetrics, type ConnectionQuality } from './metrics.js';
export { memoryStorage, type KeyValueStorage, type StorageOption } from './storage.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { decodeToken, type TokenClaims } from './token.js';
export {
  TetherError,
  ErrorCode,
  type Message,
  type Position,
  type Positions,
  type PresenceMember,
  type PresenceStatus,
  type DeviceStatus,
} from '@tether/protocol/wire';
