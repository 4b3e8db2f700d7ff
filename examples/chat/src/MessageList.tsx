/**
 * The open room's messages. The user's own sent messages get "edit" and "delete"; the one being
 * edited is an input (Enter saves, Escape cancels). `seen` (msgId → users) places "seen by".
 * Text goes in as React text (messages are other people's input).
 */
import { useLayoutEffect, useRef } from 'react';
import type { ChatEntry } from './room-fold.js';

interface MessageListProps {
  entries: readonly ChatEntry[];
  me: string;
  seen: ReadonlyMap<string, string[]>;
  editing: string | undefined;
  onEdit: (msgId: string | undefined) => void;
  onSave: (entry: ChatEntry, text: string) => void;
  onDelete: (entry: ChatEntry) => void;
}

export function MessageList({ entries, me, seen, editing, onEdit, onSave, onDelete }: MessageListProps) {
  const list = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);
  // Follow new messages while the reader is at the bottom; leave them be when they scrolled up.
  useLayoutEffect(() => {
    if (list.current && atBottom.current) list.current.scrollTop = list.current.scrollHeight;
  }, [entries]);
  const onScroll = (): void => {
    const node = list.current;
    if (node) atBottom.current = node.scrollTop + node.clientHeight >= node.scrollHeight - 8;
  };
  return (
    <ol id="messages" ref={list} onScroll={onScroll}>
      {entries.map((m) => (
        <li
          key={m.msgId}
          data-msg-id={m.msgId}
          className={[m.sending && 'sending', m.deleted && 'deleted'].filter(Boolean).join(' ')}
        >
          <span className="from">{m.from}</span>
          {editing === m.msgId ? (
            <input
              className="edit"
              defaultValue={m.text}
              autoFocus
              onKeyDown={(e) => {
                if (e.key === 'Enter') onSave(m, e.currentTarget.value);
                if (e.key === 'Escape') onEdit(undefined);
              }}
            />
          ) : (
            <MessageBody
              entry={m}
              mine={m.from === me}
              readers={seen.get(m.msgId) ?? []}
              onEdit={onEdit}
              onDelete={onDelete}
            />
          )}
        </li>
      ))}
    </ol>
  );
}

function MessageBody({
  entry: m,
  mine,
  readers,
  onEdit,
  onDelete,
}: {
  entry: ChatEntry;
  mine: boolean;
  readers: readonly string[];
  onEdit: (msgId: string) => void;
  onDelete: (entry: ChatEntry) => void;
}) {
  const meta = m.sending ? 'sending…' : m.edited && !m.deleted ? 'edited' : '';
  return (
    <>
      <span className="text">{m.deleted ? 'message deleted' : m.text}</span>
      {meta && <span className="meta">{meta}</span>}
      {readers.length > 0 && <span className="meta seen">seen by {readers.join(', ')}</span>}
      {mine && !m.sending && !m.deleted && (
        <>
          <button className="edit" onClick={() => onEdit(m.msgId)}>
            edit
          </button>
          <button className="delete" onClick={() => onDelete(m)}>
            delete
          </button>
        </>
      )}
    </>
  );
}
