/**
 * One room's messages as the page shows them, folded from the channel's events (no React, no SDK
 * calls): `message:created` adds a message, `message:edited` replaces its text, `message:deleted`
 * leaves a tombstone. Each event carries the message's id (`data.id`, the relevance rules' scope)
 * and `at`, the original's offset, so an edit whose original was superseded in replay still has
 * its author and its place. Then the user's own messages the server has not confirmed yet.
 */
import type { TypedMessage } from '@tether/client';
import type { ChatEvents } from './chat-events.js';

export interface ChatEntry {
  msgId: string;
  from: string;
  text: string;
  /** The original's offset; undefined while it is still being sent. */
  at: number | undefined;
  sending: boolean;
  edited: boolean;
  deleted: boolean;
}

/** An own message on its way: in the offline queue, or sent and not yet seen on the channel. */
export interface OutgoingMessage {
  msgId: string;
  from: string;
  text: string;
  /** The offset the publish resolved with (undefined: not yet acknowledged). */
  offset?: number;
}

interface Folded extends ChatEntry {
  /** The offset of the edit or delete in force (0: the original's text). */
  version: number;
}

/**
 * The room's entries: sent messages in the order of their originals, then the ones still sending in
 * the order they were written. `messages` may come in any order and hold an offset more than once.
 */
export function foldRoom(
  messages: readonly TypedMessage<ChatEvents>[],
  outgoing: readonly OutgoingMessage[] = [],
): ChatEntry[] {
  const byId = new Map<string, Folded>();
  const seen = new Set<number>();
  for (const message of [...messages].sort((a, b) => a.offset - b.offset)) {
    if (seen.has(message.offset)) continue;
    seen.add(message.offset);
    if (typeof message.data?.id !== 'string') continue; // not a chat event: nothing to show
    const at = message.type === 'message:created' ? message.offset : message.data.at;
    let entry = byId.get(message.data.id);
    if (!entry) {
      entry = {
        msgId: message.data.id,
        from: message.data.from,
        text: '',
        at,
        sending: false,
        edited: false,
        deleted: false,
        version: 0,
      };
      byId.set(entry.msgId, entry);
    }
    if (message.type === 'message:created' && entry.version === 0) entry.text = message.data.text;
    // A later edit or delete wins over an earlier one.
    if (message.type === 'message:edited' && !entry.deleted) {
      Object.assign(entry, { text: message.data.text, edited: true, version: message.offset });
    }
    if (message.type === 'message:deleted') Object.assign(entry, { text: '', deleted: true, version: Infinity });
  }
  for (const own of outgoing) {
    if (byId.has(own.msgId)) continue;
    const sending = own.offset === undefined;
    byId.set(own.msgId, {
      msgId: own.msgId,
      from: own.from,
      text: own.text,
      at: own.offset,
      sending,
      edited: false,
      deleted: false,
      version: 0,
    });
  }
  const all = [...byId.values()].map(({ version: _version, ...entry }) => entry);
  const sent = all.filter((m) => m.at !== undefined).sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  return [...sent, ...all.filter((m) => m.at === undefined)];
}

/** The highest offset the room's messages reached (0: none yet), for marking it read. */
export function headOf(
  messages: readonly TypedMessage<ChatEvents>[],
  outgoing: readonly OutgoingMessage[] = [],
): number {
  let head = 0;
  for (const message of messages) head = Math.max(head, message.offset);
  for (const own of outgoing) head = Math.max(head, own.offset ?? 0);
  return head;
}

/**
 * "Seen by": each other user under the last message (not their own) their read position covers.
 * `readers`: user → read position, from their `read` notices. Result: msgId → users.
 */
export function seenBy(entries: readonly ChatEntry[], readers: ReadonlyMap<string, number>): Map<string, string[]> {
  const sent = entries.filter((m) => m.at !== undefined);
  const seen = new Map<string, string[]>();
  for (const [user, offset] of readers) {
    const last = sent.findLast((m) => (m.at ?? 0) <= offset && m.from !== user);
    if (last) seen.set(last.msgId, [...(seen.get(last.msgId) ?? []), user]);
  }
  return seen;
}
