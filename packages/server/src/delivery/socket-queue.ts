/**
 * How many bytes wait to be written to one socket, and how to drop them. Engine.IO 6 keeps the
 * packets sent while its transport is busy in the engine socket's `writeBuffer`; the websocket
 * transport hands each flushed batch to `ws`, whose `bufferedAmount` counts what the kernel has not
 * taken yet. A socket that does not read grows the first without bound: Socket.IO has no limit of
 * its own. Neither field is in Engine.IO's typings, so they are read through a checked view: an
 * engine without them reads as 0 queued (and the slow-consumer test fails loudly).
 */
import type { Socket } from 'socket.io';

/** The parts of Engine.IO 6 (and of `ws` / uWebSockets.js under it) read here. */
interface EngineView {
  writeBuffer?: unknown;
  transport?: { socket?: unknown };
  close(discard?: boolean): unknown;
}

interface WireView {
  bufferedAmount?: unknown;
  getBufferedAmount?: unknown;
  terminate?: unknown;
}

function engineOf(socket: Socket): EngineView {
  return socket.conn as unknown as EngineView;
}

function wireOf(socket: Socket): WireView | undefined {
  const wire = engineOf(socket).transport?.socket;
  return typeof wire === 'object' && wire !== null ? (wire as WireView) : undefined;
}

/** Bytes waiting for this socket: packets the engine holds plus what the websocket has buffered. */
export function queuedBytes(socket: Socket): number {
  let bytes = 0;
  const buffer = engineOf(socket).writeBuffer;
  if (Array.isArray(buffer)) for (const packet of buffer) bytes += packetBytes(packet);
  const wire = wireOf(socket);
  if (typeof wire?.bufferedAmount === 'number') bytes += wire.bufferedAmount;
  else if (typeof wire?.getBufferedAmount === 'function') bytes += Number(wire.getBufferedAmount()) || 0;
  return bytes;
}

/** An encoded packet's size: its string's length (broadcasts share one encoded string) or its bytes. */
function packetBytes(packet: unknown): number {
  const data = typeof packet === 'object' && packet !== null ? (packet as { data?: unknown }).data : undefined;
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Ends the connection at once and frees what waited for it. A polite close would queue its close
 * frame behind those bytes (and `ws` would keep them for its 30 s closing timeout), so the
 * websocket is terminated; the client sees its transport close and reconnects, as after a
 * network failure.
 */
export function dropTransport(socket: Socket): void {
  const wire = wireOf(socket);
  if (typeof wire?.terminate === 'function') (wire.terminate as () => void).call(wire);
  // Marks the engine socket closed now and empties its writeBuffer (Socket.IO then fires `disconnect`).
  engineOf(socket).close(true);
}

const DRAIN_POLL_MS = 10;

/**
 * Resolves once at most `belowBytes` wait for the socket, or when it is gone (false then). Polled:
 * Engine.IO emits no event when `ws` has written everything, and this runs only while a resume
 * or redelivery is waiting, never per live message.
 */
export async function drained(socket: Socket, belowBytes: number): Promise<boolean> {
  while (socket.connected) {
    if (queuedBytes(socket) <= belowBytes) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, DRAIN_POLL_MS);
      socket.once('disconnect', done);
      function done(): void {
        clearTimeout(timer);
        socket.off('disconnect', done);
        resolve();
      }
    });
  }
  return false;
}
