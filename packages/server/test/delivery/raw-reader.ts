/**
 * A Socket.IO client written at the Engine.IO frame level over a raw `ws`, so that a test can stop
 * reading (pause the TCP socket) while still answering pings — what a careless or hostile reader
 * does, and what socket.io-client cannot be made to do. It handles `msg` frames as the protocol
 * asks (exactly position+1, then `upTo`) and records any gap or duplicate as a violation.
 */
import type { Socket as NetSocket } from 'node:net';
import WebSocket from 'ws';
import type { ErrorFrame, MsgFrame, Positions } from '@tether/protocol';

export interface RawReaderOptions {
  url: string;
  token: string;
  deviceId: string;
  positions: Positions;
}

export class RawReader {
  /** Handled position per channel. */
  readonly positions = new Map<string, { epoch: string; offset: number }>();
  /** Offsets handled per channel, in order. */
  readonly handled = new Map<string, number[]>();
  readonly violations: string[] = [];
  readonly errors: ErrorFrame[] = [];
  readonly closed: Promise<void>;
  /** `msg` frames received and their message bytes (JSON of the messages). */
  readonly frames: { channel: string; count: number; bytes: number; upTo: number | undefined }[] = [];
  private pongs: NodeJS.Timeout | undefined;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    void this.closed.then(() => clearInterval(this.pongs));
  }

  static async connect(options: RawReaderOptions): Promise<RawReader> {
    const ws = new WebSocket(`${options.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const reader = new RawReader(ws);
    for (const [channel, position] of Object.entries(options.positions)) {
      if (position?.epoch !== undefined)
        reader.positions.set(channel, { epoch: position.epoch, offset: position.offset });
    }
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data: WebSocket.RawData) => {
        const text = data.toString();
        if (text.startsWith('0')) {
          const auth = { token: options.token, deviceId: options.deviceId, positions: options.positions };
          ws.send(`40${JSON.stringify(auth)}`);
        } else if (text === '2') ws.send('3');
        else if (text.startsWith('40')) resolve();
        else if (text.startsWith('44')) reject(new Error(`refused: ${text}`));
        else if (text.startsWith('42')) reader.event(JSON.parse(text.slice(2)) as [string, unknown]);
      });
    });
    return reader;
  }

  get socket(): NetSocket {
    // The test stands in for a client that stops reading: it needs ws's TCP socket.
    return (this.ws as unknown as { _socket: NetSocket })._socket;
  }

  /** Stops reading from the TCP socket; keeps sending Engine.IO pongs so the server sees it alive. */
  stopReading(pongEveryMs = 500): void {
    this.socket.pause();
    this.pongs = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send('3');
    }, pongEveryMs);
  }

  startReading(): void {
    clearInterval(this.pongs);
    this.socket.resume();
  }

  close(): void {
    clearInterval(this.pongs);
    this.ws.terminate();
  }

  private event([name, payload]: [string, unknown]): void {
    if (name === 'error') this.errors.push(payload as ErrorFrame);
    if (name === 'resync') this.violations.push(`resync ${JSON.stringify(payload)}`);
    if (name !== 'msg') return;
    const frame = payload as MsgFrame;
    this.frames.push({
      channel: frame.channel,
      count: frame.messages.length,
      bytes: Buffer.byteLength(JSON.stringify(frame.messages)),
      upTo: frame.upTo,
    });
    const position = this.positions.get(frame.channel) ?? { epoch: frame.epoch, offset: 0 };
    const handled = this.handled.get(frame.channel) ?? [];
    this.handled.set(frame.channel, handled);
    for (const m of frame.messages) {
      // A frame with `upTo` may skip offsets the relevance rules dropped; a live one may not.
      const fits = frame.upTo === undefined ? m.offset === position.offset + 1 : m.offset > position.offset;
      if (!fits) {
        this.violations.push(`${frame.channel}: after ${position.offset}, got ${m.offset}`);
        continue;
      }
      position.offset = m.offset;
      handled.push(m.offset);
    }
    if (frame.upTo !== undefined && frame.upTo > position.offset) position.offset = frame.upTo;
    this.positions.set(frame.channel, { epoch: frame.epoch, offset: position.offset });
  }
}

/** The raw readers a test file opened, connected through it and closed together after each test. */
export class RawReaders {
  private readonly open: RawReader[] = [];

  async connect(options: RawReaderOptions): Promise<RawReader> {
    const reader = await RawReader.connect(options);
    this.open.push(reader);
    return reader;
  }

  closeAll(): void {
    for (const reader of this.open.splice(0)) reader.close();
  }
}
