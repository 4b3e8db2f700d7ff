/**
 * @tether/react: a provider (one `TetherClient` per app) and hooks on `useSyncExternalStore`, with
 * one reference-counted subscription per channel per client (docs/react.md).
 */
export {
  TetherProvider,
  useTetherClient,
  useTether,
  type TetherProviderProps,
  type TetherContextValue,
} from './provider.js';
export { useConnectionStatus, useUnread, type UnreadState } from './connection-hooks.js';
export {
  useChannel,
  useMessages,
  usePresence,
  useTyping,
  useReadReceipts,
  DEFAULT_MESSAGES_LIMIT,
  type ChannelHandle,
  type MessagesOptions,
  type MessagesState,
  type PresenceState,
  type TypingState,
  type ReadReceiptsState,
} from './channel-hooks.js';
export { DEFAULT_QUALITY_REFRESH_MS, type ConnectionSnapshot } from './client-stores.js';
export { DEFAULT_RELEASE_DELAY_MS } from './registry.js';
