/**
 * A minimal Engine.IO v4 / Socket.IO v5 client over `ws`, websocket transport only, default
 * namespace only, text frames only. It costs a fraction of a `socket.io-client` instance, so a few
 * loader processes can hold thousands of connections without becoming the bottleneck.
 *
 * Frames: Engine.IO `0` open, `1` close, `2` ping (answered with `3`), `4` message; inside a
 * message, Socket.IO `0` CONNECT, `1` DISCONNECT, `2` EVENT, `3` ACK, `4` CONNECT_ERROR, an optional
 * ack id in digits, then JSON.
 */
import WebSocket from 'ws';

const CH_0 = 0x30; // '0'
const CH_2 = 0x32; // '2'
const CH_4 = 0x34; // '4'

/**
 * @typedef {object} FrameClientOptions
 * @property {string} url   `ws://host:port/socket.io/?EIO=4&transport=websocket`
 * @property {unknown} [auth]   Socket.IO handshake auth object (sent with CONNECT)
 * @property {(event: string, args: unknown[]) => void} [onEvent]   every EVENT frame
 * @property {(frame: Buffer) => boolean} [onRawEvent]   sees each EVENT frame's bytes first; returning
 *   true means it was handled and skips JSON parsing (the loader's fast path)
 * @property {(code: number, reason: string) => void} [onClose]   after the socket closed
 * @property {(err: Error) => void} [onError]   socket errors after connect
 * @property {import('ws').ClientOptions} [wsOptions]   more `ws` options (e.g. `perMessageDeflate`, scenario `deflate`)
 */

/** Builds the websocket URL of a Socket.IO server. */
export function socketUrl(host, port, path = '/socket.io/') {
  return `ws://${host}:${port}${path}?EIO=4&transport=websocket`;
}

export class FrameClient {
  /** @param {FrameClientOptions} options */
  constructor(options) {
    this.url = options.url;
    this.auth = options.auth;
    this.onEvent = options.onEvent ?? null;
    this.onRawEvent = options.onRawEvent ?? null;
    this.onClose = options.onClose ?? null;
    this.onError = options.onError ?? null;
    this.wsOptions = options.wsOptions ?? {};
    /** @type {WebSocket | null} */
    this.ws = null;
    /** Socket.IO session id, once connected. */
    this.sid = null;
    this.connected = false;
    this.nextAckId = 0;
    /** @type {Map<number, {resolve: (args: unknown[]) => void, reject: (e: Error) => void, timer: NodeJS.Timeout}>} */
    this.pending = new Map();
    this.framesIn = 0;
    this.pings = 0;
  }

  /**
   * Opens the socket and sends CONNECT with the auth object; resolves with the CONNECT payload
   * (`{sid}`), rejects on CONNECT_ERROR, close or timeout.
   * @param {number} [timeoutMs]
   * @returns {Promise<{sid: string}>}
   */
  connect(timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          reject(err);
          this.close();
        } else resolve(value);
      };
      const timer = setTimeout(() => settle(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
      const ws = new WebSocket(this.url, { perMessageDeflate: false, skipUTF8Validation: true, ...this.wsOptions });
      this.ws = ws;
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        this.framesIn++;
        this._onFrame(/** @type {Buffer} */ (data), settle);
      });
      ws.on('error', (err) => {
        if (!settled) settle(err);
        else this.onError?.(err);
      });
      ws.on('close', (code, reason) => {
        const wasConnected = this.connected;
        this.connected = false;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error('socket closed'));
        }
        this.pending.clear();
        if (!settled) settle(new Error(`socket closed before CONNECT (${code} ${reason.toString()})`));
        else if (wasConnected || code) this.onClose?.(code, reason.toString());
      });
    });
  }

  /**
   * @param {Buffer} buf
   * @param {(err: Error | null, value?: unknown) => void} settle
   */
  _onFrame(buf, settle) {
    const eio = buf[0];
    if (eio === CH_4) {
      const sio = buf[1];
      if (sio === CH_2) {
        // EVENT: 42[...] or 42<id>[...] (an ack id the server would like answered; we never do)
        if (this.onRawEvent !== null && this.onRawEvent(buf)) return;
        let i = 2;
        while (i < buf.length && buf[i] >= CH_0 && buf[i] <= 0x39) i++;
        const args = JSON.parse(buf.toString('utf8', i));
        if (this.onEvent !== null) this.onEvent(args[0], args.slice(1));
        return;
      }
      const text = buf.toString('utf8', 2);
      if (sio === 0x33) {
        // ACK: 43<id>[...]
        let i = 0;
        while (i < text.length && text.charCodeAt(i) >= CH_0 && text.charCodeAt(i) <= 0x39) i++;
        const id = Number(text.slice(0, i));
        const p = this.pending.get(id);
        if (p !== undefined) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.resolve(JSON.parse(text.slice(i)));
        }
      } else if (sio === CH_0) {
        const payload = text.length > 0 ? JSON.parse(text) : {};
        this.sid = payload.sid ?? null;
        this.connected = true;
        settle(null, payload);
      } else if (sio === CH_4) {
        const payload = text.length > 0 ? JSON.parse(text) : {};
        const err = new Error(`CONNECT_ERROR: ${payload.message ?? text}`);
        /** @type {Error & {data?: unknown}} */ (err).data = payload.data;
        settle(err);
      } else if (sio === 0x31) {
        // server-side disconnect of the namespace
        this.close();
      }
    } else if (eio === CH_2) {
      this.pings++;
      this.ws?.send('3');
    } else if (eio === CH_0) {
      // Engine.IO open: now join the default namespace with the auth payload
      this.ws?.send(this.auth === undefined ? '40' : '40' + JSON.stringify(this.auth));
    } else if (eio === 0x31) {
      this.close();
    }
  }

  /** Sends an EVENT frame: `42["event", ...args]`. */
  emit(event, ...args) {
    this.sendRaw('42' + JSON.stringify([event, ...args]));
  }

  /** Sends an already encoded Engine.IO frame (e.g. a pre-built `42[...]` string). */
  sendRaw(frame) {
    const ws = this.ws;
    if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(frame);
  }

  /**
   * Sends an EVENT with an ack id and resolves with the server's ack arguments.
   * @returns {Promise<unknown[]>}
   */
  request(event, arg, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const id = this.nextAckId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no ack for "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.sendRaw('42' + id + JSON.stringify([event, arg]));
    });
  }

  close() {
    const ws = this.ws;
    if (ws === null) return;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }
}
