/**
 * Socket.IO's own parser, with two changes. An EVENT packet whose payload is not `[name, …args]`
 * (`42[]`, `42[null]`, `42[{}]`, `42{}`, `42"x"`, `421[]`) reaches the namespace as an event with
 * no name, like `42` already does, instead of closing the whole connection; and a text packet
 * nested deeper than the frames need (`maxDataDepth` plus the frame's own two levels) is not
 * parsed at all: an EVENT becomes an event named `TOO_DEEP`, anything else closes the connection.
 * The connection's guard answers both `bad_request` (through the packet's ack id when it has one)
 * and counts them against the invalid-frame budget. Every other protocol violation still closes
 * the connection, as Socket.IO does.
 */
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import { jsonDeeperThan } from './json-depth.js';

/** The name a too-deep EVENT packet reaches the handlers with (no client can send a symbol). */
export const TOO_DEEP = Symbol('frame nested too deep');

/** Levels of a frame around its `data`: the event array and the frame object. */
const FRAME_LEVELS = 2;

/** For the `parser` option of the Socket.IO server. */
export function eventTolerantParser(maxDataDepth: number): { Encoder: typeof Encoder; Decoder: typeof Decoder } {
  const maxDepth = maxDataDepth + FRAME_LEVELS;

  class EventTolerantDecoder extends Decoder {
    override add(obj: unknown): void {
      if (typeof obj === 'string' && jsonDeeperThan(obj, maxDepth)) {
        const packet = eventHeader(obj);
        if (!packet) throw new Error(`packet nested deeper than ${maxDepth} levels`);
        packet.data = [TOO_DEEP];
        this.emitReserved('decoded', packet);
        return;
      }
      try {
        super.add(obj);
      } catch (err) {
        const packet =
          typeof obj === 'string' && err instanceof Error && err.message === 'invalid payload'
            ? eventHeader(obj)
            : undefined;
        if (!packet) throw err;
        this.emitReserved('decoded', packet);
      }
    }
  }
  return { Encoder, Decoder: EventTolerantDecoder };
}

/** The namespace and ack id of an EVENT packet (`2[/nsp,][id]…`), with no data; else undefined. */
function eventHeader(text: string): Packet | undefined {
  if (text[0] !== String(PacketType.EVENT)) return undefined;
  let rest = text.slice(1);
  let nsp = '/';
  if (rest.startsWith('/')) {
    const comma = rest.indexOf(',');
    nsp = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? '' : rest.slice(comma + 1);
  }
  const digits = /^\d+/.exec(rest)?.[0];
  const packet: Packet = { type: PacketType.EVENT, nsp, data: [] };
  if (digits !== undefined) packet.id = Number(digits);
  return packet;
}

/** Names an event that is not one of ours, briefly and safely (it may be anything, or nothing). */
export function describeEvent(event: unknown): string {
  if (event === TOO_DEEP) return 'frame nested too deep (see maxDataDepth)';
  if (typeof event === 'string') return `unknown event ${JSON.stringify(event.slice(0, 100))}`;
  if (typeof event === 'number') return `unknown event ${String(event)}`;
  return 'an event needs a name: [name, payload]';
}
