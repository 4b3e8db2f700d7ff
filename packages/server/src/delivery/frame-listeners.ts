/**
 * How a client connection's frames reach it: one Socket.IO middleware (`socket.use`) per socket,
 * the last one, routes every event to the socket's `ClientConnection`, and one
 * shared `disconnect` listener ends the connection. No listener per event name: Socket.IO keeps a
 * socket's listeners in a dictionary whose size steps up with the names (11 frame names and
 * `disconnect` cost ~670 B more per idle connection than one name), and no `onAny` array either
 * (unknown names are answered by the same middleware). Being after the event limit's middleware,
 * every frame, a named one or not, is counted before it is handled. The frame parsers live here
 * too: zod for most frames, the hand-written guard first for `ack`, the most frequent one. The
 * presence frames' parsers are in presence/presence-frames.ts.
 */
import type { Socket } from 'socket.io';
import {
  ackFrameSchema,
  isAckFrame,
  parseFrame,
  probeFrameSchema,
  pubFrameSchema,
  refreshFrameSchema,
  subFrameSchema,
  unsubFrameSchema,
  type AckFrame,
  type ServerToClientEvents,
} from '@tether/protocol';
import type { z } from 'zod';
import type { ClientConnection } from './connection.js';
import type { HandshakeData } from '../auth/handshake.js';
import { READ_STATE_EVENTS } from '../presence/read-state-frames.js';

const INBOUND_EVENTS = [
  'sub',
  'unsub',
  'pub',
  'ack',
  'refresh',
  'probe',
  'presence',
  'members',
  ...READ_STATE_EVENTS,
] as const;
export type InboundEvent = (typeof INBOUND_EVENTS)[number];
/** Inbound events carry unvalidated payloads: every one goes through a schema first. */
export type InboundEvents = Record<InboundEvent, (...args: unknown[]) => void>;
export type TetherSocket = Socket<InboundEvents, ServerToClientEvents>;

const INBOUND = new Set<unknown>(INBOUND_EVENTS);

/** A Socket.IO packet as middleware sees it: the event name, its payloads, the ack callback last if any. */
type Packet = unknown[];

/** Routes the socket's events to `connection` (after any middleware already installed) until `detachListeners`. */
export function attachListeners(socket: TetherSocket, connection: ClientConnection): void {
  (socket.data as HandshakeData).connection = connection;
  // Socket.IO calls middleware without its socket: bound to it (smaller than a closure over it).
  socket.use(routeFrame.bind(socket));
  socket.on('disconnect', onDisconnect);
}

export function detachListeners(socket: TetherSocket): void {
  (socket.data as HandshakeData).connection = undefined;
}

/** The socket's connection, for the listeners every socket shares (kept on the handshake's data). */
function connectionOf(socket: TetherSocket): ClientConnection | undefined {
  return (socket.data as HandshakeData).connection;
}

/**
 * One event of the socket, handled here; then `next`, so that Socket.IO still dispatches it by
 * name as before, to whatever an app listens to on the socket (`server.io`), none of it Tether's.
 * The common ack, one valid frame and no callback, takes no argument array.
 */
function routeFrame(this: TetherSocket, packet: Packet, next: () => void): void {
  const connection = connectionOf(this);
  // As Socket.IO's own dispatch: nothing is handled after the socket went.
  if (!connection || !this.connected) return;
  const event = packet[0];
  if (event === 'ack' && packet.length === 2 && isAckFrame(packet[1])) connection.onAckFrame(packet[1]);
  else if (INBOUND.has(event)) connection.onFrame(event as InboundEvent, packet.slice(1));
  else connection.onOtherEvent(event, packet.slice(1));
  next();
}

function onDisconnect(this: TetherSocket): void {
  connectionOf(this)?.stop();
}

/** A frame parser from its zod schema; a failure is the documented refusal (`parseFrame`). */
function zodParser<S extends z.ZodType>(schema: S, what: string): (input: unknown) => z.infer<S> {
  return (input) => parseFrame(schema, input, what);
}

export const parseSubFrame = zodParser(subFrameSchema, 'sub frame');
export const parseUnsubFrame = zodParser(unsubFrameSchema, 'unsub frame');
export const parsePubFrame = zodParser(pubFrameSchema, 'pub frame');
export const parseRefreshFrame = zodParser(refreshFrameSchema, 'refresh frame');
export const parseProbeFrame = zodParser(probeFrameSchema, 'probe frame');

/** The hand-written guard first; zod only to word a refusal (the two accept the same frames). */
export function parseAckFrame(input: unknown): AckFrame {
  return isAckFrame(input) ? input : parseFrame(ackFrameSchema, input, 'ack frame');
}
