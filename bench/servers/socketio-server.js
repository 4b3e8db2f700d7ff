/**
 * Baseline: a plain Socket.IO 4.8 server (default `ws` engine), no guarantees. Each bench message
 * is broadcast with one `io.emit('msg', frame)`, in the same frame shape Tether sends, so that the
 * clients do the same work for both. Nothing is stored, acked or redelivered.
 *
 * Scenario `inbox` (`BENCH_MODE`, `BENCH_USERS` users `bench-0…`): every message goes to one user's
 * inbox `user:<sub>` (`sub` read from the token, not verified, as nothing is here), offsets per inbox.
 * - `BENCH_MODE=inbox`: each socket joins the room `user:<sub>`; `io.to(room).emit` per message.
 * - `BENCH_MODE=ack`: the hand-rolled "reliable" design teams write today: the user's socket gets
 *   `socket.timeout(BENCH_ACK_TIMEOUT_MS).emitWithAck('msg', frame)`, retried twice on a timeout;
 *   nothing is stored (a message to a user with no socket, or unacked after 3 tries, is gone).
 *
 * Scenario `ingress` (`BENCH_API_KEY` set, with `BENCH_MODE=inbox`): the minimal HTTP baseline, a
 * fastify server with Socket.IO attached whose `POST /v1/publish` (Tether's body and answer shape)
 * checks the bearer key and emits to the user's room, nothing else.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import Fastify from 'fastify';
import { Server } from 'socket.io';
import { collect, runStep } from '../lib/publisher.js';
import { runInboxStep } from '../lib/inbox-publisher.js';
import { serve, usage } from '../lib/rpc.js';
import { pinSelf } from '../lib/cpu-pin.js';

pinSelf(); // onto the run's server CPU, if it chose one (lib/cpu-pin.js)

const CHANNEL = process.env.BENCH_CHANNEL ?? 'bench:fanout';
const EPOCH = 'plain';
const API_KEY = process.env.BENCH_API_KEY;
const app = API_KEY ? Fastify({ logger: false }) : null;
const httpServer = app ? app.server : http.createServer();
const io = new Server(httpServer, { serveClient: false });
/**
 * `BENCH_BATCH=1`: messages published in the same event-loop turn go out as one frame, as Tether
 * does; without it, one `io.emit` per message (what a plain Socket.IO app does).
 */
const BATCH = process.env.BENCH_BATCH === '1';
/** @type {object[]} */
let queue = [];
const flush = () => {
  const messages = queue;
  queue = [];
  io.emit('msg', { channel: CHANNEL, epoch: EPOCH, messages });
};
let head = 0;
let connections = 0;

const MODE = process.env.BENCH_MODE ?? 'fanout';
if (!['fanout', 'inbox', 'ack'].includes(MODE)) throw new Error(`BENCH_MODE must be fanout, inbox or ack: ${MODE}`);
const USERS = Number(process.env.BENCH_USERS ?? 0);
const ACK_TIMEOUT_MS = Number(process.env.BENCH_ACK_TIMEOUT_MS ?? 2000);
const ACK_RETRIES = 2;
/** Per inbox: its last offset; and (mode `ack`) the user's socket. */
const heads = new Int32Array(USERS);
/** @type {Array<import('socket.io').Socket | undefined>} */
const sockets = new Array(USERS);
/** Mode `ack`: retries sent, and messages given up after the last try or with no socket. */
const ackStats = { retries: 0, givenUp: 0, noSocket: 0 };

/** The user number `n` of a token whose `sub` is `bench-<n>` (payload decoded, not verified); -1 if none. */
function userOf(auth) {
  try {
    const payload = JSON.parse(Buffer.from(String(auth?.token).split('.')[1], 'base64url').toString());
    const m = /^bench-(\d+)$/.exec(payload.sub);
    return m && Number(m[1]) < USERS ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

async function sendWithRetries(user, frame) {
  for (let attempt = 0; attempt <= ACK_RETRIES; attempt++) {
    const socket = sockets[user];
    if (socket === undefined) {
      ackStats.noSocket++;
      return;
    }
    if (attempt > 0) ackStats.retries++;
    try {
      await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('msg', frame);
      return;
    } catch {
      // timed out: try again
    }
  }
  ackStats.givenUp++;
}

io.on('connection', (socket) => {
  connections++;
  const user = MODE === 'fanout' ? -1 : userOf(socket.handshake.auth);
  if (user >= 0) {
    if (MODE === 'inbox') socket.join(`user:bench-${user}`);
    else sockets[user] = socket;
  }
  socket.on('disconnect', () => {
    connections--;
    if (user >= 0 && sockets[user] === socket) sockets[user] = undefined;
  });
  socket.on('sub', (frame, reply) => {
    if (typeof reply !== 'function') return;
    if (MODE === 'fanout') reply({ channel: CHANNEL, epoch: EPOCH, offset: head });
    else reply({ channel: frame?.channel, epoch: EPOCH, offset: user >= 0 ? heads[user] : 0 });
  });
  // Clients ack as they would to Tether; plain Socket.IO has nothing to do with it.
  socket.on('ack', () => undefined);
});

/** The next offset of a user's inbox, and its frame with one message (the same fields, in the same order, as Tether's). */
function inboxFrame(user, type, data) {
  const offset = ++heads[user];
  const channel = `user:bench-${user}`;
  return { channel, epoch: EPOCH, messages: [{ id: randomUUID(), type, data, ts: Date.now(), offset }] };
}

if (app) {
  app.post('/v1/publish', async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${API_KEY}`) return reply.code(401).send({ error: 'unauthorized' });
    const { channel, type, data } = /** @type {{channel: string, type: string, data: unknown}} */ (request.body);
    const m = /^user:bench-(\d+)$/.exec(channel);
    const user = m ? Number(m[1]) : -1;
    if (user < 0 || user >= USERS) return reply.code(400).send({ error: 'bad_request' });
    const frame = inboxFrame(user, type, data);
    io.to(channel).emit('msg', frame);
    return { offset: frame.messages[0].offset, epoch: EPOCH, duplicate: false };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
} else {
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
}
const { port } = /** @type {import('node:net').AddressInfo} */ (httpServer.address());

serve({
  stats() {
    return { ...usage(), connections, ...(MODE === 'ack' ? { ack: { ...ackStats } } : {}) };
  },
  gc() {
    collect();
    return usage();
  },
  step(args) {
    if (MODE !== 'fanout') {
      return runInboxStep(args, USERS, (user, data) => {
        const frame = inboxFrame(user, 'tick', data);
        if (MODE === 'inbox') io.to(frame.channel).emit('msg', frame);
        else void sendWithRetries(user, frame);
        return frame.messages[0].offset;
      });
    }
    return runStep(args, (data) => {
      const offset = ++head;
      // Same fields, in the same order, as Tether's envelopes.
      const message = { id: randomUUID(), type: 'tick', data, ts: Date.now(), offset };
      if (!BATCH) {
        io.emit('msg', { channel: CHANNEL, epoch: EPOCH, messages: [message] });
        return offset;
      }
      if (queue.length === 0) setImmediate(flush);
      queue.push(message);
      return offset;
    });
  },
  async exit() {
    io.disconnectSockets(true);
    if (app) await app.close().catch(() => undefined);
    await new Promise((resolve) => {
      io.close(() => resolve(undefined));
      setTimeout(resolve, 2000).unref();
    });
  },
});

process.send?.({ type: 'ready', port });
