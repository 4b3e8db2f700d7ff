/**
 * The socket side of read receipts and typing: the `typing`, `read` and `unread` frames of one
 * connection, parsed and handed to `ReadReceipts` (read-receipts.ts). connection.ts delegates here.
 */
import { parseFrame, readFrameSchema, typingFrameSchema, unreadFrameSchema } from '@tether/protocol';
import type { AuthContext } from '../auth/context.js';
import { notSubscribed, type NoticeSender, type ReadReceipts } from './read-receipts.js';

export const READ_STATE_EVENTS = ['typing', 'read', 'unread'] as const;
export type ReadStateEvent = (typeof READ_STATE_EVENTS)[number];

/** What a frame needs of its connection. */
export interface ReadStateCaller {
  readonly context: AuthContext;
  readonly socket: NoticeSender;
  /** Whether the connection is subscribed to `channel` and live in its room. */
  isSubscribed(channel: string): boolean;
}

export function handleReadStateFrame(
  receipts: ReadReceipts,
  event: ReadStateEvent,
  input: unknown,
  caller: ReadStateCaller,
): unknown {
  switch (event) {
    case 'typing': {
      const { channel } = parseFrame(typingFrameSchema, input, 'typing frame');
      // A live subscription was permission-checked (and is dropped when a refreshed token no longer allows it).
      if (!caller.isSubscribed(channel)) throw notSubscribed(channel);
      receipts.typing(caller.context, channel, caller.socket);
      return undefined;
    }
    case 'read': {
      const { channel, offset } = parseFrame(readFrameSchema, input, 'read frame');
      return receipts.markRead(caller.context, channel, offset, caller.socket);
    }
    case 'unread': {
      const { channels } = parseFrame(unreadFrameSchema, input, 'unread frame');
      return receipts.unread(caller.context, channels);
    }
  }
}
