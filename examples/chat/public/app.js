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
  const ui = { active: ROOMS.includes(params.get('room')) ? params.get('room') : ROOMS[0], editing: undefined };
  const render = () => {
    view.renderRooms(rooms, ui.active, new Map(), openRoom);
    view.renderMessages(rooms.get(ui.active), user, {
      editing: ui.editing,
      onEdit: (msgId) => ((ui.editing = msgId), render()),
      onSave: (m, text) => {
        ui.editing = undefined;
        if (text.trim() && text !== m.text) publish('chat:edit', { msgId: m.msgId, from: user, at: m.at, text });
        render();
      },
      onDelete: (m) => publish('chat:delete', { msgId: m.msgId, from: user, at: m.at }),
    });
  };
  const openRoom = (channel) => {
    ui.active = channel;
    ui.editing = undefined;
    render();
  };
  // Edits and deletes show once the server has them (they come back on the subscription).
  const publish = (type, data) =>
    client.publish(ui.active, type, data).catch((err) => view.showError(`${err.code}: ${err.message}`));

  // Connection status, its quality (RTT probe) and the publishes waiting in the offline queue.
  const showConnection = () => view.renderConnection(client.status, client.metrics());
  client.on('status', showConnection);
  setInterval(showConnection, 2000);
  client.on('error', ({ error, channel }) =>
    view.showError(`${error.code}${channel ? ` on ${channel}` : ''}: ${error.message}`),
  );

  for (const room of rooms.values()) {
    // Live messages from now on; history fills in what was said before. Both go through
    // `room.apply`, which applies each offset once.
    const sub = client.subscribe(room.channel, (message) => {
      if (room.apply(message)) render();
    });
    sub
      .history({ limit: 50 })
      .then((page) => {
        for (const message of page.messages.reverse()) room.apply(message);
        render();
      })
      .catch((err) => view.showError(`history of ${room.channel}: ${err.code ?? err.name}: ${err.message}`));
  }

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
      .publish(room.channel, 'chat', { msgId, from: user, text }, { id: msgId })
      .then(({ offset }) => room.sent(msgId, offset))
      .catch((err) => view.showError(`${err.code}: ${err.message}`))
      .finally(() => (render(), showConnection()));
    render();
    showConnection();
  });

  render();
  await client.connect();
  showConnection();
}
