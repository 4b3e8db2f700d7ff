/**
 * Baseline: a plain Socket.IO 4.8 server (default `ws` engine), no guarantees. Each bench message
 * is broadcast with one `io.emit('msg', frame)`, in the same frame shape Tether sends, so that the
 * clients do the same work for both. Nothing is stored, acked or redelivered.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Server } from 'socket.io';
import { collect, runStep } from '../lib/publisher.js';
import { serve, usage } from '../lib/rpc.js';

const CHANNEL = process.env.BENCH_CHANNEL ?? 'bench:fanout';
const EPOCH = 'plain';
const httpServer = http.createServer();
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

io.on('connection', (socket) => {
  connections++;
  socket.on('disconnect', () => connections--);
  socket.on('sub', (_frame, reply) => {
    if (typeof reply === 'function') reply({ channel: CHANNEL, epoch: EPOCH, offset: head });
  });
  // Clients ack as they would to Tether; plain Socket.IO has nothing to do with it.
  socket.on('ack', () => undefined);
});

await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const { port } = /** @type {import('node:net').AddressInfo} */ (httpServer.address());

serve({
  stats() {
    return { ...usage(), connections };
  },
  gc() {
    collect();
    return usage();
  },
  step(args) {
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
    await new Promise((resolve) => {
      io.close(() => resolve(undefined));
      setTimeout(resolve, 2000).unref();
    });
  },
});

process.send?.({ type: 'ready', port });
