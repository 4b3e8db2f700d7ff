import type { ServerOptions } from 'socket.io';
import { DEFLATE_THRESHOLD_BYTES, type ResolvedOptions } from '../options.js';
import { eventTolerantParser } from '../guard/event-parser.js';

/** Socket.IO's settings from Tether's options. */
export function socketIoOptions(o: ResolvedOptions): Partial<ServerOptions> {
  return {
    path: o.socketPath,
    serveClient: false,
    pingInterval: o.pingIntervalMs,
    pingTimeout: o.pingTimeoutMs,
    // A frame may carry `data` at its limit plus the envelope; larger frames end the connection.
    maxHttpBufferSize: o.maxPayloadBytes * 2 + 16_384,
    cors: o.corsOrigins.length > 0 ? { origin: o.corsOrigins, credentials: true } : undefined,
    // A malformed event packet is answered `bad_request` instead of closing the connection.
    parser: eventTolerantParser(o.maxDataDepth),
    transports: o.allowPollingTransport ? ['polling', 'websocket'] : ['websocket'],
    connectTimeout: o.connectTimeoutMs,
    // Off unless asked for: compression costs a zlib context per socket and CPU per frame.
    perMessageDeflate: deflateOptions(o.perMessageDeflate),
  };
}

function deflateOptions(option: ResolvedOptions['perMessageDeflate']): false | { threshold: number } {
  if (option === false) return false;
  return { threshold: (option === true ? undefined : option.threshold) ?? DEFLATE_THRESHOLD_BYTES };
}
