/**
 * The Socket.IO listeners of a client connection, shared by every socket: Socket.IO calls a
 * listener with its socket as `this`, and the socket's `ClientConnection` is found from it, so an
 * idle connection holds no closures of its own. The frame parsers live here too: zod for most
 * frames, the hand-written guard first for `ack`, the most frequent one. The presence frames'
 * parsers are in presence/presence-frames.ts.
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

/** Routes the socket's events to `connection` until `detachListeners`. */
export function attachListeners(socket: TetherSocket, connection: ClientConnection): void {
  connectionOf.set(socket, connection);
  for (const event of INBOUND_EVENTS) socket.on(event, FRAME_LISTENERS[event]);
  socket.onAny(onOtherEvent);
  socket.on('disconnect', onDisconnect);
}

export function detachListeners(socket: TetherSocket): void {
  connectionOf.delete(socket);
}

/** Each socket's connection, for the listeners every socket shares. */
const connectionOf = new WeakMap<TetherSocket, ClientConnection>();

function frameListener(event: InboundEvent): (this: TetherSocket, ...args: unknown[]) => void {
  return function (this: TetherSocket, ...args: unknown[]): void {
    connectionOf.get(this)?.onFrame(event, args);
  };
}

/** An ack of one valid frame, the most frequent event, takes no argument array and no closure. */
function onAckEvent(this: TetherSocket, frame: unknown): void {
  const connection = connectionOf.get(this);
  if (!connection) return;
  // `arguments` is read, never copied, on the common path.
  if (arguments.length === 1 && isAckFrame(frame)) return connection.onAckFrame(frame);
  // eslint-disable-next-line prefer-rest-params -- the rare path: a callback, extra payloads, a refusal
  connection.onFrame('ack', Array.prototype.slice.call(arguments) as unknown[]);
}

const FRAME_LISTENERS: Record<InboundEvent, (this: TetherSocket, ...args: unknown[]) => void> = {
  sub: frameListener('sub'),
  unsub: frameListener('unsub'),
  pub: frameListener('pub'),
  ack: onAckEvent,
  refresh: frameListener('refresh'),
  probe: frameListener('probe'),
  typing: frameListener('typing'),
  read: frameListener('read'),
  unread: frameListener('unread'),
  presence: frameListener('presence'),
  members: frameListener('members'),
};

function onOtherEvent(this: TetherSocket, event: unknown, ...args: unknown[]): void {
  if (typeof event === 'string' && INBOUND.has(event)) return;
  connectionOf.get(this)?.onOtherEvent(event, args);
}

function onDisconnect(this: TetherSocket): void {
  connectionOf.get(this)?.stop();
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
