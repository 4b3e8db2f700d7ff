/**
 * A Socket.IO packet encoded once and written to any number of sockets as it is, the way
 * socket.io-adapter's broadcast does it (`client.writeToEngine(encoded, {preEncoded: true})`), with
 * no per-socket encoding. The websocket frame itself is built once too (with ws's `Sender.frame`)
 * and written straight to each socket's `ws` sender when nothing of Engine.IO's can be overtaken
 * (websocket-writer.ts); otherwise it goes through the Engine.IO socket's write buffer, which
 * writes the pre-built frame as it is when it can (no permessage-deflate) and encodes it otherwise.
 */
import type { Socket } from 'socket.io';
import type { MsgFrame } from '@tether/protocol';
import { envelopesOf, msgPacketText, type EnvelopeCache } from './msg-frame.js';
import { buildTextFrame, textFrameOnce, writeFrameDirect, type WebSocketFrame } from './websocket-writer.js';

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
  /** Tried to build the websocket frame (it stays undefined until a socket is on a `ws` websocket). */
  private frame: WebSocketFrame | undefined;

  /**
   * `text`: the Socket.IO packet (`2["msg",…]`); Engine.IO adds its `4`. `once`: it goes to one
   * socket only (its frame is one buffer built here, `textFrameOnce`, not ws's header and payload
   * shared by every write).
   */
  constructor(
    readonly text: string,
    private readonly once = false,
  ) {}

  /** Queues the packet for one socket; false when the socket is gone. */
  writeTo(socket: Socket): boolean {
    if (!socket.connected) return false;
    this.frame ??= this.once ? textFrameOnce(this.text) : buildTextFrame(socket, this.text);
    if (this.frame !== undefined && writeFrameDirect(socket, this.frame, this.text)) return true;
    this.options ??= { preEncoded: true };
    if (this.frame !== undefined) this.options.wsPreEncodedFrame = this.frame;
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
  return new EncodedPacket(text, true).writeTo(socket);
}
