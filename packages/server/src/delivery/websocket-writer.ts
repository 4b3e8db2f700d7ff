/**
 * Writing an already built websocket frame straight to a socket's `ws` sender, past Engine.IO's
 * per-packet machinery (a packet object, four events, a send callback per write whose chain —
 * transport `drain`, `ready`, the socket's flush — runs again for every socket). That chain costs
 * about a fifth of the server's CPU per socket written in a broadcast, and in a broadcast written
 * in slices it runs between the slices, delaying the rest of the room (bench/README.md, "fan-out
 * p50 at low rates").
 *
 * It is only done when it cannot overtake or bypass anything: the Engine.IO socket is open and
 * holds no packet of its own (`writeBuffer` empty: all it accepted has been handed to `ws`), its
 * transport is the websocket one without permessage-deflate, and `ws` is open with nothing queued
 * in its sender (it queues only while compressing). Then the frame lands in the TCP socket behind
 * every earlier packet, which is all Engine.IO's path would have done. Otherwise the caller writes
 * through Engine.IO as before. None of these fields are in Engine.IO's or ws's typings: they are
 * read through checked views, and a field that is missing or of another type means "not now" —
 * another version of either library loses the shortcut, never a frame. Engine.IO's public
 * `packetCreate` event is still emitted for each packet written this way, when anyone listens.
 */
import type { Socket } from 'socket.io';

/** A websocket frame as ws's `Sender.sendFrame` takes it: its buffers (here always one: header and payload). */
export type WebSocketFrame = readonly Buffer[];

interface EngineView {
  readyState?: unknown;
  writeBuffer?: unknown;
  transport?: { name?: unknown; perMessageDeflate?: unknown; socket?: unknown };
}

interface SenderView {
  _state?: unknown;
  _queue?: unknown;
  sendFrame?: unknown;
}

/** ws's `WebSocket.OPEN` and the sender's idle state (`DEFAULT` in ws 8's sender.js). */
const WS_OPEN = 1;
const SENDER_IDLE = 0;

/**
 * The websocket frame of Engine.IO message `4<text>`, in ONE buffer, for one socket or shared by
 * every socket of a broadcast: the header
 * (RFC 6455 §5.2: FIN, text opcode, the payload's UTF-8 length, unmasked from a server), `4` and
 * the text encoded behind it. One part is one `write` of the TCP socket, where a header and a
 * string are two, corked, and a `writev` that encodes the string into a buffer of its own anyway;
 * and `4` + text is never built as a string.
 */
export function textFrame(text: string): WebSocketFrame {
  const length = Buffer.byteLength(text) + 1;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN + text
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame[head] = 0x34; // Engine.IO's `4` (message)
  frame.write(text, head + 1, 'utf8');
  return [frame];
}

/**
 * Writes `frame` (Engine.IO message `4<text>`) to the socket's `ws` sender when nothing of
 * Engine.IO's can be overtaken (see above); false when it cannot now, and the packet must go
 * through Engine.IO.
 */
export function writeFrameDirect(socket: Socket, frame: WebSocketFrame, text: string): boolean {
  const engine = socket.conn as unknown as EngineView;
  if (engine.readyState !== 'open') return false;
  const buffered = engine.writeBuffer;
  if (!Array.isArray(buffered) || buffered.length !== 0) return false;
  const transport = engine.transport;
  if (transport?.name !== 'websocket' || transport.perMessageDeflate) return false;
  const wire = transport.socket as { readyState?: unknown; _sender?: SenderView } | undefined;
  if (wire?.readyState !== WS_OPEN) return false;
  const sender = wire._sender;
  if (sender?._state !== SENDER_IDLE || !Array.isArray(sender._queue) || sender._queue.length !== 0) return false;
  if (typeof sender.sendFrame !== 'function') return false;
  if (socket.conn.listenerCount('packetCreate') > 0) {
    socket.conn.emit('packetCreate', { type: 'message', data: text, options: { compress: false } });
  }
  (sender.sendFrame as (list: WebSocketFrame) => void).call(sender, frame);
  return true;
}
