import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestBed, type TestServer } from '@tether/testing';
import { createTetherServer } from '@tether/server';

const bed = new TestBed();
afterEach(() => bed.close());

/** The 101 answer's `sec-websocket-extensions` to a client that offers permessage-deflate (as `ws` does). */
async function negotiated(server: TestServer): Promise<string | undefined> {
  const url = `ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, { perMessageDeflate: true });
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      ws.once('upgrade', resolve);
      ws.once('error', reject);
    });
    return response.headers['sec-websocket-extensions'];
  } finally {
    ws.terminate();
  }
}

describe('permessage-deflate', () => {
  it('is off by default: an offer of the extension is not taken up', async () => {
    const server = await bed.start();
    expect(await negotiated(server)).toBeUndefined();
  });

  it('is negotiated when on; socket.io-client offers it and receives compressed frames intact', async () => {
    const server = await bed.start({ perMessageDeflate: { threshold: 256 } });
    expect(await negotiated(server)).toMatch(/^permessage-deflate/);

    const offers: (string | undefined)[] = [];
    server.server.httpServer.prependListener('upgrade', (req: IncomingMessage) => {
      offers.push(req.headers['sec-websocket-extensions']);
    });
    const client = await bed.connect({ sub: 'u1', channels: ['room:*'] });
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatch(/permessage-deflate/);
    expect(await client.sub('room:big')).toMatchObject({ channel: 'room:big' });
    const text = 'compressible '.repeat(2000); // ~26 KB: well past the threshold
    await server.server.publish({ channel: 'room:big', type: 'note', data: { text } });
    const message = await client.messages.waitFor((m) => m.channel === 'room:big');
    expect(message.data).toEqual({ text });
  });

  it('refuses a malformed option with a TypeError naming it', async () => {
    for (const bad of [{ threshold: -1 }, { threshold: 1.5 }, { level: 9 }, 'yes', null]) {
      await expect(createTetherServer({ jwtSecret: 'x'.repeat(32), perMessageDeflate: bad as never })).rejects.toThrow(
        /perMessageDeflate/,
      );
    }
  });
});
