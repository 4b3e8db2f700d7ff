/**
 * A Socket.IO packet encoded once and written to any number of sockets as it is, the way
 * socket.io-adapter's broadcast does it (`client.writeToEngine(encoded, {preEncoded: true})`), with
 * no per-socket encoding. The websocket frame itself is built once too, as ONE buffer
 * (`textFrame`: header and payload together, shared by every write), and written straight to
 * each socket's `ws` sender when nothing of Engine.IO's can be overtaken
 * (websocket-writer.ts); otherwise it goes through the Engine.IO socket's write buffer, which
 * writes the pre-built frame as it is when it can (no permessage-deflate) and encodes it otherwise.
 */
import type { Socket } from 'socket.io';
import type { MsgFrame } from '@tether/protocol';
import { envelopesOf, msgPacketText, type EnvelopeCache } from './msg-frame.js';
import { textFrame, writeFrameDirect, type WebSocketFrame } from './websocket-writer.js';

/** What Engine.IO 6's `Socket.write` accepts beyond its typed `compress`. */
interface PacketOptions {
  preEncoded: true;
  compress?: boolean;
  wsPreEncodedFrame?: WebSocketFrame;
}

interface EngineWriter {
  write(data: string, options: PacketOptions): unknown;
}

export class EncodedPacket {
  /** Engine.IO's write options, made when a write first goes through Engine.IO (most never do). */
  private options: PacketOptions | undefined;
  /**
   * The websocket frame, built at the first write. One buffer rather than ws's header and payload:
   * ws writes a one-part frame with one `socket.write`, where two parts take `cork`, two writes,
   * `uncork` and a `writev` per socket (a broadcast's per-socket cost: bench/README.md, "one
   * buffer per broadcast frame").
   */
  private frame: WebSocketFrame | undefined;

  /** `text`: the Socket.IO packet (`2["msg",…]`); Engine.IO adds its `4`. */
  constructor(readonly text: string) {}

  /** The websocket frame's bytes once it was written to a socket (0 before). */
  get bytes(): number {
    return this.frame?.[0]?.length ?? 0;
  }

  /** Queues the packet for one socket; false when the socket is gone. */
  writeTo(socket: Socket): boolean {
    if (!socket.connected) return false;
    this.frame ??= textFrame(this.text);
    if (writeFrameDirect(socket, this.frame, this.text)) return true;
    this.options ??= { preEncoded: true, wsPreEncodedFrame: this.frame };
    (socket.conn as unknown as EngineWriter).write(this.text, this.options);
    return true;
  }
}

/**
 * `socket.emit('msg', frame)`, encoded by msg-frame.ts: each envelope's text from `cache` (the
 * channel's ring) when it holds that message, `data`'s text from the publish step (`knownDataJsonOf`). False when the
 * socket is gone.
 */
export function sendMsgFrame(socket: Socket, frame: MsgFrame, cache?: EnvelopeCache): boolean {
  const text = msgPacketText(socket.nsp.name, frame, envelopesOf(frame.messages, cache));
  return new EncodedPacket(text).writeTo(socket);
}
