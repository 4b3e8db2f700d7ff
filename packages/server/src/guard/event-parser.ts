/**
 * Socket.IO's own parser, with one change: an EVENT packet whose payload is not `[name, …args]`
 * (`42[]`, `42[null]`, `42[{}]`, `42{}`, `42"x"`, `421[]`) reaches the namespace as an event with
 * no name, like `42` already does, instead of closing the whole connection. The connection's guard
 * then answers it `bad_request` (through the packet's ack id when it has one) and counts it against
 * the invalid-frame budget. Every other protocol violation still closes the connection, as
 * Socket.IO does.
 */
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

class EventTolerantDecoder extends Decoder {
  override add(obj: unknown): void {
    try {
      super.add(obj);
    } catch (err) {
      const packet = typeof obj === 'string' && err instanceof Error ? malformedEvent(obj, err) : undefined;
      if (!packet) throw err;
      this.emitReserved('decoded', packet);
    }
  }
}

/** The header (namespace, ack id) of an EVENT packet the stock decoder refused for its payload. */
function malformedEvent(text: string, err: Error): Packet | undefined {
  if (err.message !== 'invalid payload' || text[0] !== String(PacketType.EVENT)) return undefined;
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

/** For the `parser` option of the Socket.IO server. */
export const eventTolerantParser = { Encoder, Decoder: EventTolerantDecoder };
