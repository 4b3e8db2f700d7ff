/** A socket.io-client connection to a Tether server, with promise helpers for the wire frames. */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  Position,
  Positions,
  PubFrame,
  PubReply,
  Reply,
  RefreshReply,
  ServerToClientEvents,
  SubReply,
} from '@tether/protocol';
import { collectMessages, type MessageCollector } from './collect.js';
import { DEFAULT_WAIT_MS } from './wait.js';

export type TetherSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  /** Handshake `deviceId`. Default: a random one. */
  deviceId?: string;
  /** Handshake `positions`. Default none. */
  positions?: Positions;
  /** Extra handshake `auth` fields (to test validation). Default none. */
  auth?: Record<string, unknown>;
  /** Socket.IO reconnection. Default false: a test decides when to reconnect. */
  reconnection?: boolean;
  /** Default `['websocket']`. */
  transports?: ('websocket' | 'polling')[];
  /** Socket.IO path. Default `/socket.io`. */
  path?: string;
  /** Wait for `connect` (reject on `connect_error`). Default true. */
  wait?: boolean;
  /** Deadline for connecting and for each request. Default 5000. */
  timeoutMs?: number;
}

export interface TestClient {
  readonly socket: TetherSocket;
  readonly deviceId: string;
  /** Collects `msg` and `resync` frames from before the connection opened. */
  readonly messages: MessageCollector;
  sub(channel: string, since?: Position): Promise<Reply<SubReply>>;
  unsub(channel: string): Promise<Reply<Record<string, never>>>;
  /** Publishes; the id defaults to a random one. */
  pub(frame: Omit<PubFrame, 'id'> & { id?: string }): Promise<Reply<PubReply>>;
  ack(acks: Record<string, number>): void;
  refresh(token: string): Promise<Reply<RefreshReply>>;
  close(): void;
}

/** The error a refused handshake gives: socket.io's `connect_error`, with the server's `data`. */
export interface ConnectError extends Error {
  data?: unknown;
}

export async function connectClient(url: string, token: string, options: ConnectOptions = {}): Promise<TestClient> {
  const deviceId = options.deviceId ?? `test-${randomUUID()}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
  const socket: TetherSocket = io(url, {
    path: options.path ?? '/socket.io',
    transports: options.transports ?? ['websocket'],
    forceNew: true,
    reconnection: options.reconnection ?? false,
    autoConnect: false,
    timeout: timeoutMs,
    auth: { token, deviceId, ...(options.positions ? { positions: options.positions } : {}), ...options.auth },
  });
  // Listen before connecting: the server may replay right after the handshake.
  const messages = collectMessages(socket);
  const request = <T>(send: (reply: (r: T) => void) => void, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no reply within ${timeoutMs} ms`)), timeoutMs);
      send((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });

  const client: TestClient = {
    socket,
    deviceId,
    messages,
    sub: (channel, since) =>
      request<Reply<SubReply>>((r) => socket.emit('sub', since ? { channel, since } : { channel }, r), 'sub'),
    unsub: (channel) => request<Reply<Record<string, never>>>((r) => socket.emit('unsub', { channel }, r), 'unsub'),
    pub: (frame) =>
      request<Reply<PubReply>>((r) => socket.emit('pub', { ...frame, id: frame.id ?? randomUUID() }, r), 'pub'),
    ack: (acks) => {
      socket.emit('ack', { acks });
    },
    refresh: (fresh) => request<Reply<RefreshReply>>((r) => socket.emit('refresh', { token: fresh }, r), 'refresh'),
    close: () => {
      messages.stop();
      socket.disconnect();
    },
  };

  socket.connect();
  if (options.wait === false) return client;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`connectClient: not connected within ${timeoutMs} ms`)), timeoutMs);
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const fail = (err: ConnectError): void => {
      cleanup();
      client.close();
      reject(err);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', fail);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', fail);
  });
  return client;
}

/** True when a reply is the `{ error }` shape. */
export function isErrorReply<T>(reply: Reply<T>): reply is { error: { code: string; message: string } } {
  return typeof reply === 'object' && reply !== null && 'error' in reply;
}
