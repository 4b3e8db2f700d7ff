/**
 * The HTTP request that opened a connection (its WebSocket upgrade or polling handshake), let go
 * once the socket is connected. Engine.IO keeps it for the connection's life as `request`, and the
 * upgrade's response object keeps it too, through a `close` listener on the TCP socket: ~1.1 KB per
 * idle connection (the IncomingMessage, its raw headers, its stream state, the response).
 * Socket.IO's docs ("Memory usage") suggest dropping it. Tether needs only the client IP from it
 * after the handshake: that is the connection's peer address, or, behind a trusted proxy, the
 * address read from `X-Forwarded-For` while the request was there (remembered then).
 * `socket.handshake` stays as Socket.IO built it (headers included).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'socket.io';
import type { TrustedProxies } from './client-ip.js';

/** An Engine.IO connection: its first request until it is let go, and its peer address. */
interface EngineConnection {
  request: http.IncomingMessage | null;
  readonly remoteAddress: string;
}

/**
 * Engine.IO's upgrade response (`WebSocketResponse`) re-emits its TCP socket's `close` for Engine.IO
 * middlewares with this listener, which holds the response and the request for the socket's life.
 */
const UPGRADE_RESPONSE_CLOSE = /^\(\)\s*=>\s*this\.emit\(["']close["']\)$/;

export class FirstRequests {
  /** Client IPs that differ from their connection's peer (a trusted proxy's `X-Forwarded-For`). */
  private readonly forwarded = new WeakMap<object, string>();

  constructor(private readonly proxies: TrustedProxies) {}

  /** The client IP of a socket's connection, whether its request is still there or not. */
  clientIpOf(socket: Socket): string {
    const conn = socket.conn as EngineConnection;
    if (conn.request) return this.proxies.clientIpOf(conn.request);
    return this.forwarded.get(conn) ?? this.proxies.peerIpOf(conn.remoteAddress);
  }

  /** Lets the socket's Engine.IO connection forget its first request (call once it is connected). */
  release(socket: Socket): void {
    const conn = socket.conn as EngineConnection;
    if (!conn.request) return;
    const ip = this.proxies.clientIpOf(conn.request);
    if (ip !== this.proxies.peerIpOf(conn.remoteAddress)) this.forwarded.set(conn, ip);
    conn.request = null;
  }
}

/**
 * After Engine.IO's upgrade listeners ran on `socket` (which had `closeListenersBefore` `close`
 * listeners then): removes the one its upgrade response added, so that the response and the upgrade
 * request are not held for the socket's life. Found by its source, among the listeners added since:
 * a listener that is not exactly Engine.IO's is never removed (an Engine.IO that adds none, or a
 * different one, only costs the memory again).
 */
export function forgetUpgradeResponse(socket: Duplex, closeListenersBefore: number): void {
  const added = socket.listeners('close').slice(closeListenersBefore);
  const listener = added.find((candidate) => UPGRADE_RESPONSE_CLOSE.test(String(candidate)));
  if (listener) socket.removeListener('close', listener as () => void);
}
