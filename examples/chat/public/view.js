/* global document, queueMicrotask, FormData */
/**
 * The page's DOM: plain functions that draw the state app.js keeps. Text goes in with
 * `textContent` only (messages are other people's input).
 */
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** The room list, each with its unread badge (when the room has a count above 0). */
export function renderRooms(rooms, active, unread, onOpen) {
  $('rooms').replaceChildren(
    ...[...rooms.keys()].map((channel) => {
      const count = unread.get(channel) ?? 0;
      const badge = count > 0 ? el('span', { className: 'badge', textContent: String(count) }) : undefined;
      const item = el(
        'li',
        { className: channel === active ? 'active' : '' },
        el('span', { textContent: channel }),
        badge,
      );
      item.dataset.channel = channel;
      item.addEventListener('click', () => onOpen(channel));
      return item;
    }),
  );
  $('room-title').textContent = active;
}

/**
 * The active room's messages. The user's own sent messages get "edit" and "delete"; the one being
 * edited is an input (Enter saves, Escape cancels). `seen` (msgId → users) places "seen by".
 */
export function renderMessages(room, me, { editing, onEdit, onSave, onDelete, seen = new Map() }) {
  const list = $('messages');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.replaceChildren(
    ...room.list().map((m) => {
      const item = el('li', { className: [m.sending && 'sending', m.deleted && 'deleted'].filter(Boolean).join(' ') });
      item.dataset.msgId = m.msgId;
      item.append(el('span', { className: 'from', textContent: m.from }));
      if (editing === m.msgId) {
        const input = el('input', { className: 'edit', value: m.text });
        input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') onSave(m, input.value);
          if (e.key === 'Escape') onEdit(undefined);
        });
        item.append(input);
        queueMicrotask(() => input.focus());
        return item;
      }
      item.append(el('span', { className: 'text', textContent: m.deleted ? 'message deleted' : m.text }));
      const meta = m.sending ? 'sending…' : m.edited && !m.deleted ? 'edited' : '';
      if (meta) item.append(el('span', { className: 'meta', textContent: meta }));
      const readers = seen.get(m.msgId) ?? [];
      if (readers.length > 0) {
        item.append(el('span', { className: 'meta seen', textContent: `seen by ${readers.join(', ')}` }));
      }
      if (m.from === me && !m.sending && !m.deleted) {
        item.append(
          el('button', { className: 'edit', textContent: 'edit', onclick: () => onEdit(m.msgId) }),
          el('button', { className: 'delete', textContent: 'delete', onclick: () => onDelete(m) }),
        );
      }
      return item;
    }),
  );
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** The open room's members (one per user, however many tabs), each with their status. */
export function renderMembers(members, count) {
  $('member-count').textContent = count === undefined ? '' : `(${count})`;
  $('members').replaceChildren(
    ...[...members]
      .sort((a, b) => a.sub.localeCompare(b.sub))
      .map((m) => {
        const item = el(
          'li',
          {},
          el('span', { className: `dot ${m.status}` }),
          el('span', { className: 'name', textContent: m.sub }),
          el('span', { className: 'status', textContent: m.status }),
        );
        item.dataset.sub = m.sub;
        return item;
      }),
  );
}

/** The user's own status (over all their devices) and the busy toggle. */
export function renderMyStatus(status) {
  $('my-status').replaceChildren(el('span', { className: `dot ${status}` }), status);
  $('busy').checked = status === 'busy';
}

/** "alice is typing…", from the active room's `sub.typists()`. */
export function renderTyping(typists) {
  const text = typists.length === 0 ? '' : `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`;
  $('typing').textContent = text;
}

/** The connection indicator: the SDK's status, and the probe's quality and round trip when known. */
export function renderConnection(status, metrics) {
  const node = $('connection');
  node.className = `status-${status}`;
  const quality = status === 'connected' && metrics.quality !== 'unknown' ? ` · ${metrics.quality}` : '';
  const rtt = status === 'connected' && metrics.rttAvgMs !== undefined ? ` ${Math.round(metrics.rttAvgMs)} ms` : '';
  node.textContent = `${status}${quality}${rtt}`;
  $('queued').textContent = metrics.queued > 0 ? `${metrics.queued} queued` : '';
}

export function showError(text) {
  const node = $('errors');
  node.textContent = [node.textContent, text].filter(Boolean).join(' | ');
}

export function showLogin(onJoin) {
  const form = $('login');
  form.hidden = false;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onJoin(new FormData(form).get('user'));
  });
}

export function showApp(user) {
  $('app').hidden = false;
  $('me').textContent = `you: ${user}`;
}
