/* global window, document, location, fetch, crypto, URLSearchParams */
/**
 * The chat page: one TetherClient (the SDK's ESM bundle, served by the example's server), a
 * subscription per room, and the page's state drawn by view.js. `?user=NAME` picks the user (a demo
 * token from /api/token); `&room=room:random` the room opened first.
 */
import { TetherClient } from '/tether-client.browser.js';
import { Room } from '/rooms.js';
import * as view from '/view.js';

const ROOMS = ['room:general', 'room:random'];
const params = new URLSearchParams(location.search);
const user = params.get('user');

if (!user) {
  view.showLogin((name) => {
    params.set('user', name);
    location.search = params.toString();
  });
} else {
  start(user).catch((err) => view.showError(`${err.code ?? err.name}: ${err.message}`));
}

async function start(user) {
  view.showApp(user);
  const client = new TetherClient({
    url: location.origin,
    // Called before connecting and again before the token expires.
    getToken: async () => {
      const res = await fetch(`/api/token?user=${encodeURIComponent(user)}`);
      if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
      return res.text();
    },
  });
  window.chatClient = client; // for the console

  const rooms = new Map(ROOMS.map((channel) => [channel, new Room(channel)]));
  const subs = new Map();
  const unread = new Map(); // channel → unread count (client.unread() and the `unread` event)
  const ui = { active: ROOMS.includes(params.get('room')) ? params.get('room') : ROOMS[0], editing: undefined };
  const render = () => {
    const room = rooms.get(ui.active);
    // The open room is being read: no badge for it.
    view.renderRooms(rooms, ui.active, new Map([...unread].filter(([c]) => c !== ui.active)), openRoom);
    view.renderMessages(room, user, {
      editing: ui.editing,
      seen: room.seenBy(),
      onEdit: (msgId) => ((ui.editing = msgId), render()),
      onSave: (m, text) => {
        ui.editing = undefined;
        if (text.trim() && text !== m.text) publish('message:edited', { id: m.msgId, from: user, at: m.at, text });
        render();
      },
      onDelete: (m) => publish('message:deleted', { id: m.msgId, from: user, at: m.at }),
    });
    const sub = subs.get(ui.active);
    view.renderTyping(sub?.typists() ?? []);
    if (sub) view.renderMembers(sub.members(), sub.memberCount);
  };
  const openRoom = (channel) => {
    ui.active = channel;
    ui.editing = undefined;
    render();
    markRead();
  };
  // Edits and deletes show once the server has them (they come back on the subscription).
  const publish = (type, data) =>
    client.publish(ui.active, type, data).catch((err) => view.showError(`${err.code}: ${err.message}`));

  // Read receipts: the open room, while the page is visible, is read up to the newest message
  // shown. The position is the user's (every device) and never moves back; the other members get
  // a `read` notice ("seen by"), the user's other devices clear their badge.
  const markRead = () => {
    const room = rooms.get(ui.active);
    if (document.visibilityState !== 'visible' || room.head === 0) return;
    subs
      .get(room.channel)
      .markRead(room.head)
      .catch((err) => view.showError(`read: ${err.code}: ${err.message}`));
  };
  document.addEventListener('visibilitychange', markRead);
  client.on('unread', ({ channel, unread: count }) => {
    unread.set(channel, count);
    render();
  });

  // Presence: the user's own status over all their devices (online, idle, away from activity; busy
  // by hand), and per room its members — users, not tabs — from the server's snapshot and diffs.
  view.renderMyStatus(client.presence.status);
  client.presence.on('status', ({ status }) => view.renderMyStatus(status));
  document.getElementById('busy').addEventListener('change', (e) => {
    client.presence.set(e.target.checked ? 'busy' : null);
  });

  // Connection status, its quality (RTT probe) and the publishes waiting in the offline queue.
  const showConnection = () => view.renderConnection(client.status, client.metrics());
  client.on('status', showConnection);
  setInterval(showConnection, 2000);
  client.on('error', ({ error, channel }) =>
    view.showError(`${error.code}${channel ? ` on ${channel}` : ''}: ${error.message}`),
  );

  for (const room of rooms.values()) {
    // Live messages from now on; history fills in what was said before (`relevant`: only the final
    // version of each message). Both go through `room.apply`, which applies each offset once.
    const sub = client.subscribe(room.channel, (message) => {
      if (!room.apply(message)) return;
      render();
      if (room.channel === ui.active) markRead();
    });
    subs.set(room.channel, sub);
    sub
      .history({ limit: 50, relevant: true })
      .then((page) => {
        for (const message of page.messages.reverse()) room.apply(message);
        render();
        if (room.channel === ui.active) markRead();
      })
      .catch((err) => view.showError(`history of ${room.channel}: ${err.code ?? err.name}: ${err.message}`));
    // Who else is typing here (each expires by itself when they stop), and who read how far.
    sub.on('members', () => room.channel === ui.active && render());
    sub.on('typing', render);
    sub.on('typingStopped', render);
    sub.on('read', ({ sub: reader, offset }) => {
      if (reader === user) return;
      room.read(reader, offset);
      render();
    });
  }
  // Call on every keystroke: the SDK sends at most one `typing` frame per 2 s.
  document.querySelector('#send input').addEventListener('input', () => subs.get(ui.active).typing());

  document.getElementById('send').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = e.target.elements.text;
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    // The message id doubles as the publish's idempotency id: a resend after a reconnect is
    // stored once. While offline the SDK queues the publish; the message shows "sending…".
    const msgId = crypto.randomUUID();
    const room = rooms.get(ui.active);
    room.addPending(msgId, user, text);
    client
      .publish(room.channel, 'message:created', { id: msgId, from: user, text }, { id: msgId })
      .then(({ offset }) => room.sent(msgId, offset))
      .catch((err) => view.showError(`${err.code}: ${err.message}`))
      .finally(() => (render(), showConnection()));
    render();
    showConnection();
  });

  render();
  await client.connect();
  showConnection();
  // The badges: head − read position per room, kept current by the `unread` event from then on.
  for (const [channel, count] of Object.entries(await client.unread(ROOMS))) unread.set(channel, count.unread);
  render();
}
