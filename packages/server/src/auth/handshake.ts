import type { ExtendedError, Socket } from 'socket.io';
import {
  ErrorCode,
  TetherError,
  handshakeAuthSchema,
  isHandshakeAuth,
  parseFrame,
  type HandshakeAuth,
  type Positions,
} from '@tether/protocol';
import { contextOf, type AuthContext } from './context.js';
import type { TokenClaims } from './verify-token.js';
import type { Guard } from '../guard/guard.js';
import type { StartupGate } from '../delivery/startup-gate.js';
import type { ClientConnection } from '../delivery/connection.js';

/** What the handshake leaves on `socket.data` for the connection handler. */
export interface HandshakeData {
  ctx: AuthContext;
  /** Where the client resumes from; dropped once the connection took them (it keeps none on the socket). */
  positions?: Positions | undefined;
  /**
   * The socket's connection while its frames are routed to it (delivery/frame-listeners.ts). A
   * field from the start: added later it would take a property array, and a WeakMap entry from
   * socket to connection costs more (~30 B).
   */
  connection: ClientConnection | undefined;
}

export interface HandshakeDeps {
  verifyToken: (token: string) => Promise<TokenClaims>;
  maxChannelsPerConnection: number;
  isClosing: () => boolean;
  /** Told of every refusal (the server counts it by the one rule, delivery/refusals.ts). */
  onFailure: (err: TetherError) => void;
  guard: Guard;
  /** Handshakes wait here until the node has started (its cluster adapter is in place). */
  gate: StartupGate;
}

/**
 * Socket.IO middleware: validates the handshake `auth` and verifies the token before the
 * connection exists. A refusal reaches the client as `connect_error` whose `data` is
 * `{code, message}` with a documented code.
 */
export function handshakeMiddleware(deps: HandshakeDeps) {
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    deps.guard.run(
      () => ({ socketId: socket.id, ip: socket.handshake.address, what: 'handshake' }),
      () => authenticate(socket, deps),
      (data) => {
        (socket.data as HandshakeData) = data;
        next();
      },
      (error) => {
        deps.onFailure(error);
        const refusal = new Error(error.message) as ExtendedError;
        refusal.data = error.toJSON();
        next(refusal);
      },
    );
  };
}

async function authenticate(socket: Socket, deps: HandshakeDeps): Promise<HandshakeData> {
  if (deps.isClosing()) throw new TetherError(ErrorCode.ShuttingDown, 'server is shutting down');
  // Rooms joined before the cluster adapter replaces the local one would be lost with it.
  const starting = deps.gate.pass();
  if (starting) await starting;
  // No credentials is `unauthorized` (as over HTTP), not a malformed frame: the SDK then asks the
  // app for a token instead of reporting a bug.
  const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.['token'];
  if (typeof token !== 'string' || token.length === 0) {
    throw new TetherError(ErrorCode.Unauthorized, 'no token in the handshake `auth`');
  }
  const auth = parseHandshakeAuth(socket.handshake.auth);
  const positions = auth.positions ?? {};
  if (Object.keys(positions).length >= deps.maxChannelsPerConnection) {
    throw new TetherError(ErrorCode.TooManyChannels, `at most ${deps.maxChannelsPerConnection} channels`);
  }
  const claims = await deps.verifyToken(auth.token);
  return { ctx: contextOf(claims, auth.deviceId ?? socket.id), positions, connection: undefined };
}

/** The hand-written guard first (protocol/guards.ts); zod only to word a refusal (the two accept the same). */
function parseHandshakeAuth(input: unknown): HandshakeAuth {
  return isHandshakeAuth(input) ? input : parseFrame(handshakeAuthSchema, input, 'handshake auth');
}
