/** A bare websocket speaking Engine.IO v4 / Socket.IO v5 by hand, to send what no client library would. */
import { WebSocket, type RawData } from 'ws';
import { waitUntil } from '@tether/testing';

export interface RawSocket {
  ws: WebSocket;
  /** Every text packet received (binary ones as `<binary N>`), in order. */
  received: string[];
  closed: Promise<void>;
  isClosed(): boolean;
  send(packet: string | Buffer): void;
  /** The first received packet (from index `from` on) that matches. */
  waitFor(match: (packet: string) => boolean, what: string, from?: number, timeoutMs?: number): Promise<string>;
  terminate(): Promise<void>;
}

/** Opens Engine.IO (answering pings); with a token, also connects to the main namespace. */
export async function openRaw(port: number, token?: string): Promise<RawSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  const received: string[] = [];
  let closedFlag = false;
  const closed = new Promise<void>((resolve) =>
    ws.on('close', () => {
      closedFlag = true;
      resolve();
    }),
  );
  ws.on('error', () => undefined);
  ws.on('message', (data: RawData, binary: boolean) => {
    const text = binary ? `<binary ${(data as Buffer).length}>` : data.toString();
    received.push(text);
    if (text === '2') ws.send('3');
  });
  const raw: RawSocket = {
    ws,
    received,
    closed,
    isClosed: () => closedFlag,
    send: (packet) => {
      if (!closedFlag) ws.send(packet);
    },
    waitFor: (match, what, from = 0, timeoutMs = 3000) =>
      waitUntil(() => received.slice(from).find(match), timeoutMs, what),
    terminate: async () => {
      ws.terminate();
      await closed;
    },
  };
  await raw.waitFor((m) => m.startsWith('0{'), 'engine.io open');
  if (token !== undefined) {
    ws.send(`40${JSON.stringify({ token })}`);
    await raw.waitFor((m) => m.startsWith('40{'), 'namespace connect');
  }
  return raw;
}

/** The error code in a Socket.IO packet: an `error` event, or an ack reply `{error}`. */
export function errorCodeOf(packet: string): { code: string; ackId?: number } | undefined {
  const event = /^42(\[.*)$/s.exec(packet);
  if (event) {
    const [name, body] = JSON.parse(event[1]!) as [string, { code?: string }];
    return name === 'error' && typeof body?.code === 'string' ? { code: body.code } : undefined;
  }
  const ack = /^43(\d+)(\[.*)$/s.exec(packet);
  if (ack) {
    const [reply] = JSON.parse(ack[2]!) as [{ error?: { code?: string } }];
    const code = reply?.error?.code;
    return typeof code === 'string' ? { code, ackId: Number(ack[1]) } : undefined;
  }
  return undefined;
}
