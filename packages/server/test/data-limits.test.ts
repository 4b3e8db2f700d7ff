/**
 * Bounded input shape: `data` nested up to `maxDataDepth` and as large as `maxPayloadBytes` is
 * stored and reads back on every path (socket replay, HTTP poll, the SDK); one level or one byte
 * more is refused on every publish path (socket `pub`, HTTP, library) and stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectClient, isErrorReply, startServer, type TestServer } from '@tether/testing';
import { TetherClient, type Message } from '@tether/client';
import { TetherError, type PollChannelMessages, type PollResponse } from '@tether/protocol';

const MAX_DEPTH = 32; // the default
const MAX_BYTES = 65_536; // the default
const CHANNEL = 'room:limits';

/** `data` exactly `depth` levels deep, alternating objects and arrays, a string at the bottom. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? [value, level] : { level, inner: value };
  return value;
}

/** A string whose JSON is exactly `bytes` bytes of UTF-8 (two-byte characters included). */
function sized(bytes: number): string {
  const wide = 'é'.repeat(1000); // 2000 bytes
  return wide + 'x'.repeat(bytes - 2 - 2000);
}

let srv: TestServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tether-limits-'));
  srv = await startServer({ store: `sqlite:${path.join(dir, 'tether.db')}` });
});

afterAll(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function httpPublish(data: unknown): Promise<{ status: number; body: { error?: { code: string } } }> {
  const res = await fetch(`${srv.url}/v1/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: CHANNEL, type: 't', data }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

async function poll(): Promise<PollChannelMessages> {
  const token = await srv.token({ sub: 'reader', channels: ['room:*'] });
  const res = await fetch(`${srv.url}/v1/poll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ positions: { [CHANNEL]: { offset: 0 } } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as PollResponse).channels[CHANNEL] as PollChannelMessages;
}

async function libraryRefusal(data: unknown): Promise<string> {
  const err = await srv.server.publish({ channel: CHANNEL, type: 't', data }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TetherError);
  return (err as TetherError).code;
}

describe('data at the limits', () => {
  const accepted = [nested(MAX_DEPTH), sized(MAX_BYTES), { deep: nested(MAX_DEPTH - 1), pad: sized(MAX_BYTES - 4000) }];

  it('the limits are exact: the accepted data is at them', () => {
    expect(Buffer.byteLength(JSON.stringify(accepted[1]))).toBe(MAX_BYTES);
  });

  it('the deepest and the largest accepted messages are stored on every publish path', async () => {
    const publisher = await connectClient(srv.url, await srv.token({ sub: 'p', channels: [], publish: ['room:*'] }));
    const reply = await publisher.pub({ channel: CHANNEL, type: 't', data: accepted[0] });
    expect(isErrorReply(reply)).toBe(false);
    publisher.close();
    expect((await httpPublish(accepted[1])).status).toBe(200);
    await srv.server.publish({ channel: CHANNEL, type: 't', data: accepted[2] });
  });

  it('one level deeper or one byte larger is refused on every path, and nothing is stored', async () => {
    const before = await poll();
    const tooDeep = nested(MAX_DEPTH + 1);
    const tooLarge = sized(MAX_BYTES + 1);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;

    const publisher = await connectClient(srv.url, await srv.token({ sub: 'p', channels: [], publish: ['room:*'] }));
    expect(await publisher.pub({ channel: CHANNEL, type: 't', data: tooDeep })).toMatchObject({
      error: { code: 'bad_request' },
    });
    expect(await publisher.pub({ channel: CHANNEL, type: 't', data: tooLarge })).toMatchObject({
      error: { code: 'payload_too_large' },
    });
    // Binary values are not JSON: refused rather than stored as one thing and delivered as another.
    expect(await publisher.pub({ channel: CHANNEL, type: 't', data: Buffer.from('bin') })).toMatchObject({
      error: { code: 'bad_request' },
    });
    expect(publisher.socket.connected).toBe(true);
    publisher.close();

    expect(await httpPublish(tooDeep)).toEqual({
      status: 400,
      body: { error: expect.objectContaining({ code: 'bad_request' }) },
    });
    expect(await httpPublish(tooLarge)).toEqual({
      status: 413,
      body: { error: expect.objectContaining({ code: 'payload_too_large' }) },
    });

    expect(await libraryRefusal(tooDeep)).toBe('bad_request');
    expect(await libraryRefusal(tooLarge)).toBe('payload_too_large');
    expect(await libraryRefusal(cyclic)).toBe('bad_request');
    expect(await libraryRefusal(new Uint8Array(4))).toBe('bad_request');
    const batch = srv.server.publishMany([
      { channel: CHANNEL, type: 't', data: 1 },
      { channel: CHANNEL, type: 't', data: tooDeep },
    ]);
    await expect(batch).rejects.toMatchObject({ code: 'bad_request' });

    const after = await poll();
    expect(after.upTo).toBe(before.upTo);
    expect(after.messages.length).toBe(before.messages.length);
  });

  it('everything accepted reads back over socket replay, HTTP poll and the SDK', async () => {
    const reader = await connectClient(srv.url, await srv.token({ sub: 'r', channels: ['room:*'] }));
    expect(isErrorReply(await reader.sub(CHANNEL, { offset: 0 }))).toBe(false);
    const replayed = await reader.messages.waitForCount(3, { channel: CHANNEL });
    expect(replayed.map((m) => m.data)).toEqual(accepted);
    reader.close();

    expect((await poll()).messages.map((m) => m.data)).toEqual(accepted);

    const client = new TetherClient({
      url: srv.url,
      token: await srv.token({ sub: 'sdk', channels: ['room:*'] }),
      fallback: { enabled: false },
    });
    try {
      const handled: Message[] = [];
      client.subscribe(CHANNEL, (m) => void handled.push(m), { since: { offset: 0 } });
      await client.connect();
      await expect.poll(() => handled.length, { timeout: 5000 }).toBe(3);
      expect(handled.map((m) => m.data)).toEqual(accepted);
    } finally {
      await client.close();
    }
  });
});
