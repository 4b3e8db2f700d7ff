/**
 * A Socket.IO packet encoded once and written to any number of sockets as it is, the way
 * socket.io-adapter's broadcast does it (`client.writeToEngine(encoded, {preEncoded: true})`):
 * straight into each socket's Engine.IO write buffer, with no per-socket encoding. For a packet
 * that goes to more than one socket the websocket frame itself is built once too
 * (`wsPreEncodedFrame`, ws's `Sender.frame`), which Engine.IO's websocket transport writes as it is
 * when it can (no permessage-deflate) and ignores otherwise. The parts of Engine.IO and ws used
 * here are not in their typings, so they are read through checked views.
 */
import type { Socket } from 'socket.io';
import type { MsgFrame } from '@tether/protocol';
import { envelopesOf, msgPacketText, type EnvelopeCache } from './msg-frame.js';

/** What Engine.IO 6's `Socket.write` accepts beyond its typed `compress`. */
interface PacketOptions {
  preEncoded: true;
  compress?: boolean;
  wsPreEncodedFrame?: unknown;
}

interface EngineWriter {
  write(data: string, options: PacketOptions): unknown;
  transport?: { socket?: unknown };
}

type FrameBuilder = (data: Buffer, options: Record<string, boolean | number>) => unknown;

/** ws's `Sender.frame`, reached through a socket's websocket sender (ws keeps it static on the class). */
function frameBuilderOf(socket: Socket): FrameBuilder | undefined {
  const wire = (socket.conn as unknown as EngineWriter).transport?.socket;
  if (typeof wire !== 'object' || wire === null) return undefined;
  const sender = (wire as { _sender?: unknown })._sender;
  if (typeof sender !== 'object' || sender === null) return undefined;
  const frame = (sender.constructor as { frame?: unknown }).frame;
  return typeof frame === 'function' ? (frame as FrameBuilder).bind(sender.constructor) : undefined;
}

export class EncodedPacket {
  private readonly options: PacketOptions = { preEncoded: true };
  private framed = false;

  /** `text`: the Socket.IO packet (`2["msg",…]`); Engine.IO adds its `4`. */
  constructor(readonly text: string) {}

  /** Queues the packet for one socket; false when the socket is gone. */
  writeTo(socket: Socket, shared = false): boolean {
    if (!socket.connected) return false;
    if (shared && !this.framed) this.frame(socket);
    (socket.conn as unknown as EngineWriter).write(this.text, this.options);
    return true;
  }

  /** Builds the websocket frame once, for every socket after this one. */
  private frame(socket: Socket): void {
    const build = frameBuilderOf(socket);
    if (!build) return; // not a ws websocket (yet): try again with the next socket
    this.framed = true;
    this.options.wsPreEncodedFrame = build(Buffer.from(`4${this.text}`), {
      readOnly: false,
      mask: false,
      rsv1: false,
      opcode: 1,
      fin: true,
    });
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
