/**
 * One room: its messages (history, then live, from `useMessages`), folded into what the page shows
 * (`room-fold.ts`), the user's own messages still on their way (the offline queue), who else is
 * typing, who read how far ("seen by"), and the read position of the user, moved while the room is
 * open and the page visible. Mounted for every room; draws only when `open`.
 */
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { useMessages, useReadReceipts, useTetherClient, useTyping } from '@tether/react';
import type { ChatEvents } from './chat-events.js';
import { Composer } from './Composer.js';
import { errorText, useReportError } from './errors.js';
import { MessageList } from './MessageList.js';
import { foldRoom, headOf, seenBy, type ChatEntry, type OutgoingMessage } from './room-fold.js';

export function RoomFeed({ channel, user, open }: { channel: string; user: string; open: boolean }) {
  const client = useTetherClient();
  const report = useReportError();
  const { messages } = useMessages<ChatEvents>(channel, { limit: 50 });
  // Who read how far, from the `read` notices heard since the room opened here, and marking read.
  const { readers, markRead } = useReadReceipts(channel);
  const { typists, typing } = useTyping(channel);
  const [outgoing, setOutgoing] = useState<OutgoingMessage[]>([]);
  const [editing, setEditing] = useState<string>();
  const visible = usePageVisible();

  const entries = useMemo(() => foldRoom(messages, outgoing), [messages, outgoing]);
  const head = useMemo(() => headOf(messages, outgoing), [messages, outgoing]);
  // "Seen by" is about the others: the user's own other devices read too, and are left out.
  const seen = useMemo(
    () => seenBy(entries, new Map([...readers].filter(([reader]) => reader !== user))),
    [entries, readers, user],
  );

  // Read receipts: the open room, while the page is visible, is read up to its newest message. The
  // position is the user's (every device) and never moves back; the other members get a `read`
  // notice ("seen by"), the user's other devices clear their badge.
  useEffect(() => {
    if (!open || !visible || head === 0) return;
    markRead(head).catch((err: unknown) => report(`read: ${errorText(err)}`));
  }, [markRead, open, visible, head, report]);

  // An own message seen on the channel needs no outgoing entry any more.
  useEffect(() => {
    const arrived = new Set(messages.map((m) => m.data.id));
    setOutgoing((mine) => (mine.some((m) => arrived.has(m.msgId)) ? mine.filter((m) => !arrived.has(m.msgId)) : mine));
  }, [messages]);

  /**
   * The message id is also the publish's idempotency id: a resend after a reconnect is stored once.
   * While offline the SDK queues the publish; the message shows "sending…" until it resolves.
   */
  const send = (text: string): void => {
    const msgId = crypto.randomUUID();
    setOutgoing((mine) => [...mine, { msgId, from: user, text }]);
    client.publish<ChatEvents>(channel, 'message:created', { id: msgId, from: user, text }, { id: msgId }).then(
      ({ offset }) => setOutgoing((mine) => mine.map((m) => (m.msgId === msgId ? { ...m, offset } : m))),
      (err: unknown) => {
        setOutgoing((mine) => mine.filter((m) => m.msgId !== msgId));
        report(`not sent ("${text}"): ${errorText(err)}`);
      },
    );
  };
  // Edits and deletes show once the server has them (they come back on the subscription).
  const edit = (entry: ChatEntry, text: string): void => {
    setEditing(undefined);
    if (!text.trim() || text === entry.text || entry.at === undefined) return;
    client
      .publish<ChatEvents>(channel, 'message:edited', { id: entry.msgId, from: user, at: entry.at, text })
      .catch((err: unknown) => report(`edit: ${errorText(err)}`));
  };
  const remove = (entry: ChatEntry): void => {
    if (entry.at === undefined) return;
    client
      .publish<ChatEvents>(channel, 'message:deleted', { id: entry.msgId, from: user, at: entry.at })
      .catch((err: unknown) => report(`delete: ${errorText(err)}`));
  };

  if (!open) return null;
  return (
    <>
      <h2 id="room-title">{channel}</h2>
      <MessageList
        entries={entries}
        me={user}
        seen={seen}
        editing={editing}
        onEdit={setEditing}
        onSave={edit}
        onDelete={remove}
      />
      <p id="typing">{typingLine(typists)}</p>
      <Composer onSend={send} onTyping={typing} />
    </>
  );
}

/** "bob is typing…" (each typist expires by itself: there is no "stopped" frame). */
function typingLine(typists: readonly string[]): string {
  if (typists.length === 0) return '';
  return `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`;
}

function usePageVisible(): boolean {
  return useSyncExternalStore(
    (changed) => {
      document.addEventListener('visibilitychange', changed);
      return () => document.removeEventListener('visibilitychange', changed);
    },
    () => document.visibilityState === 'visible',
  );
}
