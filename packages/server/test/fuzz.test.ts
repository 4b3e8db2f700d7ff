/**
 * Property-style robustness: a client with no publish permission throws thousands of random and
 * near-valid frames at the server (seeded, so a failure reproduces with TETHER_FUZZ_SEED=<seed>),
 * and raw garbage is written straight onto the Engine.IO / Socket.IO transport. Afterwards the
 * server is up, nobody else noticed, nothing was appended, and every refusal was a documented code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import {
  connectClient,
  isErrorReply,
  startServer,
  waitUntil,
  type ConnectError,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import { errorCodes, type ErrorFrame, type PollChannelMessages, type PollResponse } from '@tether/protocol';

const SEED = Number(process.env['TETHER_FUZZ_SEED'] ?? 0x7e7e4);
const FRAMES = 3000;
const MAX_PAYLOAD = 1024;
const SEEDED = `(seed ${SEED}; rerun with TETHER_FUZZ_SEED=${SEED})`;

let srv: TestServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  srv = await startServer({ maxPayloadBytes: MAX_PAYLOAD, maxChannelsPerConnection: 20 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.close();
});

// ---- a small seeded PRNG (mulberry32) ------------------------------------------------------------

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---- generators ----------------------------------------------------------------------------------

const ALPHABET = [...'abcxyz019:_-.@=+/ \u00e9\u20ac\u{1F600}"\\\n\u0000<>{}[]'];
const KNOWN_EVENTS = ['sub', 'unsub', 'pub', 'ack', 'refresh'] as const;
const OTHER_EVENTS = ['presence', 'error', 'msg', 'resync', 'subscribe', 'SUB', 'pub ', '__proto__', 'toString', ''];
/** Names socket.io-client itself refuses to emit; not a server concern. */
const CLIENT_RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);
const CHANNELS = ['room:f1', 'room:f2', 'user:fuzzer', 'user:other', 'secret:x', 'room:*', '*'];
const FIELD_NAMES = [
  'channel',
  'since',
  'type',
  'data',
  'id',
  'acks',
  'token',
  'offset',
  'epoch',
  'tenant',
  '__proto__',
];

function randomString(rng: Rng, max = 24): string {
  const length = rng.int(max + 1);
  let s = '';
  for (let i = 0; i < length; i++) s += rng.pick(ALPHABET);
  return s;
}

function randomNumber(rng: Rng): number {
  return rng.pick([0, 1, -1, 2 ** 53, -(2 ** 53), 1.5, 1e308, -0, rng.int(1000), rng.next() * 1e6 - 5e5]);
}

function randomChannel(rng: Rng): string {
  return rng.chance(0.6) ? rng.pick(CHANNELS) : randomString(rng, 30);
}

function randomJson(rng: Rng, depth = 0): unknown {
  const kinds = depth >= 3 ? 4 : 6;
  switch (rng.int(kinds)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return randomNumber(rng);
    case 3:
      return rng.chance(0.02) ? 'w'.repeat(MAX_PAYLOAD + rng.int(2000)) : randomString(rng);
    case 4:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        o[rng.chance(0.5) ? rng.pick(FIELD_NAMES) : randomString(rng, 8)] = randomJson(rng, depth + 1);
      }
      return o;
    }
  }
}

interface Tokens {
  same: string;
  otherUser: string;
  expired: string;
}

/** A frame that would be valid for `event` (the fuzz client still may not publish). */
function validFrame(rng: Rng, event: (typeof KNOWN_EVENTS)[number], tokens: Tokens): Record<string, unknown> {
  switch (event) {
    case 'sub':
      return rng.chance(0.5)
        ? { channel: randomChannel(rng) }
        : { channel: randomChannel(rng), since: { offset: rng.int(5), ...(rng.chance(0.3) ? { epoch: 'e' } : {}) } };
    case 'unsub':
      return { channel: randomChannel(rng) };
    case 'pub':
      return {
        channel: randomChannel(rng),
        type: randomString(rng, 8) || 't',
        data: randomJson(rng),
        id: randomUUID(),
        ...(rng.chance(0.2) ? { ttl: 1 + rng.int(10_000) } : {}),
        ...(rng.chance(0.2) ? { critical: rng.chance(0.5) } : {}),
      };
    case 'ack':
      return { acks: { [randomChannel(rng)]: rng.int(10) } };
    case 'refresh':
      return { token: rng.pick([tokens.same, tokens.otherUser, tokens.expired, randomString(rng, 40), 'a.b.c']) };
  }
}

/** A valid frame with one thing wrong: a field removed, replaced, or one added. */
function nearValidFrame(rng: Rng, event: (typeof KNOWN_EVENTS)[number], tokens: Tokens): unknown {
  const frame = validFrame(rng, event, tokens);
  const keys = Object.keys(frame);
  switch (rng.int(4)) {
    case 0:
      delete frame[rng.pick(keys)];
      return frame;
    case 1:
      frame[rng.pick(keys)] = randomJson(rng);
      return frame;
    case 2:
      frame[rng.chance(0.5) ? rng.pick(FIELD_NAMES) : randomString(rng, 6)] = randomJson(rng);
      return frame;
    default:
      if ('channel' in frame) frame['channel'] = rng.pick(['room/x', '', 'a b', 'x'.repeat(201), '\u00e9t\u00e9']);
      return frame;
  }
}

interface FuzzFrame {
  event: string;
  args: unknown[];
  withReply: boolean;
}

function randomFrame(rng: Rng, tokens: Tokens): FuzzFrame {
  let event: string;
  const roll = rng.next();
  if (roll < 0.75) event = rng.pick(KNOWN_EVENTS);
  else if (roll < 0.9) event = rng.pick(OTHER_EVENTS);
  else event = randomString(rng, 12);
  if (CLIENT_RESERVED.has(event)) event = `x-${event}`;

  const known = (KNOWN_EVENTS as readonly string[]).includes(event) ? (event as (typeof KNOWN_EVENTS)[number]) : null;
  let args: unknown[];
  const shape = rng.next();
  if (known && shape < 0.3) args = [validFrame(rng, known, tokens)];
  else if (known && shape < 0.7) args = [nearValidFrame(rng, known, tokens)];
  else if (shape < 0.8) args = [];
  else if (shape < 0.9) args = Array.from({ length: 2 + rng.int(2) }, () => randomJson(rng));
  else if (shape < 0.95) args = [Buffer.from(randomString(rng, 16))];
  else args = [randomJson(rng)];
  // Frames stay well under the transport limit: this fuzzes the frame handlers, not the size cap.
  if (JSON.stringify(args).length > 8000) args = [randomJson(new Rng(rng.int(2 ** 31)), 3)];
  return { event, args, withReply: rng.chance(0.4) };
}

// ---- helpers -------------------------------------------------------------------------------------

interface RawEmitter {
  emit(event: string, ...args: unknown[]): unknown;
}
const rawOf = (c: TestClient): RawEmitter => c.socket as unknown as RawEmitter;

async function headsOf(channels: readonly string[]): Promise<Record<string, number>> {
  const token = await srv.token({ sub: 'observer', channels: ['*'] });
  const res = await fetch(`${srv.url}/v1/poll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ positions: Object.fromEntries(channels.map((c) => [c, { offset: 0 }])) }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as PollResponse;
  return Object.fromEntries(channels.map((c) => [c, (body.channels[c] as PollChannelMessages).upTo]));
}

/** A normal client that must not notice any of this: subscribed, receiving, never disconnected. */
async function bystander(channel: string): Promise<{ client: TestClient; disconnects: string[] }> {
  const client = await connectClient(srv.url, await srv.token({ sub: 'bystander', channels: ['room:*'] }));
  clients.push(client);
  const disconnects: string[] = [];
  client.socket.on('disconnect', (reason) => disconnects.push(reason));
  expect(isErrorReply(await client.sub(channel))).toBe(false);
  return { client, disconnects };
}

async function expectAlive(watcher: { client: TestClient; disconnects: string[] }, channel: string): Promise<void> {
  const res = await fetch(`${srv.url}/healthz`);
  expect(res.status).toBe(200);
  const marker = randomUUID();
  await srv.server.publish({ channel, type: 'marker', data: marker });
  await watcher.client.messages.waitFor((m) => m.data === marker, 3000);
  expect(watcher.disconnects).toEqual([]);
  // A fresh client connects, subscribes and receives normally.
  const fresh = await connectClient(srv.url, await srv.token({ sub: 'after', channels: ['room:*'] }));
  clients.push(fresh);
  expect(isErrorReply(await fresh.sub(channel))).toBe(false);
  const second = randomUUID();
  await srv.server.publish({ channel, type: 'marker', data: second });
  await fresh.messages.waitFor((m) => m.data === second, 3000);
  fresh.close();
}

const COUNTED = new Set(['bad_request', 'invalid_channel']);

// ---- frame fuzz ----------------------------------------------------------------------------------

describe('random frames from a client without publish permission', () => {
  it(`${FRAMES} frames: every reply documented, nothing appended, the server and others unaffected ${SEEDED}`, async () => {
    const rng = new Rng(SEED);
    const watcher = await bystander('room:f1');
    const claims = { sub: 'fuzzer', channels: ['room:*', 'user:*'] };
    const tokens: Tokens = {
      same: await srv.token(claims),
      otherUser: await srv.token({ ...claims, sub: 'other' }),
      expired: await srv.token({ ...claims, ttlSeconds: 60, now: () => Date.now() - 3_600_000 }),
    };
    const fuzzer = await connectClient(srv.url, tokens.same);
    clients.push(fuzzer);
    const errorEvents: ErrorFrame[] = [];
    fuzzer.socket.on('error', (e) => errorEvents.push(e));

    await srv.server.publishMany(
      CHANNELS.filter((c) => !c.includes('*')).map((channel) => ({ channel, type: 'seed', data: 0 })),
    );
    const watched = CHANNELS.filter((c) => !c.includes('*'));
    const heads0 = await headsOf(watched);
    const stats0 = srv.server.stats();

    const replies: unknown[] = [];
    const problems: string[] = [];
    const BATCH = 100;
    for (let sent = 0; sent < FRAMES; sent += BATCH) {
      const pending: Promise<void>[] = [];
      for (let i = sent; i < Math.min(FRAMES, sent + BATCH); i++) {
        const frame = randomFrame(rng, tokens);
        if (!frame.withReply) {
          rawOf(fuzzer).emit(frame.event, ...frame.args);
          continue;
        }
        pending.push(
          new Promise<void>((resolve) => {
            const what = `#${i} ${frame.event} ${JSON.stringify(frame.args).slice(0, 120)}`;
            const timer = setTimeout(() => {
              problems.push(`no reply to ${what}`);
              resolve();
            }, 5000);
            let replied = 0;
            rawOf(fuzzer).emit(frame.event, ...frame.args, (reply: unknown) => {
              clearTimeout(timer);
              if (++replied > 1) problems.push(`two replies to ${what}`);
              replies.push(reply);
              const code = isErrorReply(reply as object) ? (reply as { error: { code: string } }).error.code : null;
              if (code !== null && !(errorCodes as readonly string[]).includes(code)) {
                problems.push(`undocumented code ${code} for ${what}`);
              }
              if (frame.event === 'pub' && code === null) problems.push(`a pub was accepted: ${what}`);
              resolve();
            });
          }),
        );
      }
      await Promise.all(pending);
      expect(fuzzer.socket.connected, `fuzz client disconnected before frame ${sent} ${SEEDED}`).toBe(true);
    }
    expect(problems, SEEDED).toEqual([]);

    // Barrier: a valid frame with a reply, then let the asynchronous refusals (permission checks) land.
    expect(isErrorReply(await fuzzer.sub('room:f2'))).toBe(false);
    const countedReplies = replies.filter(
      (r) => isErrorReply(r as object) && COUNTED.has((r as { error: { code: string } }).error.code),
    ).length;
    await waitUntil(
      () => {
        const counted = errorEvents.filter((e) => COUNTED.has(e.code)).length + countedReplies;
        return srv.server.stats().rejectedFrames - stats0.rejectedFrames === counted ? true : undefined;
      },
      3000,
      `rejectedFrames = bad_request/invalid_channel answers seen by the client ${SEEDED}`,
    );
    for (const e of errorEvents) expect(errorCodes, SEEDED).toContain(e.code);

    const stats1 = srv.server.stats();
    expect(stats1.rejectedFrames - stats0.rejectedFrames, SEEDED).toBeGreaterThan(FRAMES / 4);
    expect(stats1.published, `no message appended anywhere ${SEEDED}`).toBe(stats0.published);
    expect(await headsOf(watched)).toEqual(heads0);
    expect(fuzzer.socket.connected).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();

    await expectAlive(watcher, 'room:f1');
  });

  it(`random handshakes are refused with documented codes or connect, never hang ${SEEDED}`, async () => {
    const rng = new Rng(SEED ^ 0x5a5a);
    const valid = await srv.token({ sub: 'hs', channels: ['room:*'] });
    const failures0 = srv.server.stats();
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const auth: Record<string, unknown> = {};
      if (rng.chance(0.7)) auth['token'] = rng.chance(0.3) ? valid : randomJson(rng);
      if (rng.chance(0.5))
        auth['positions'] = rng.chance(0.5) ? randomJson(rng) : { [randomChannel(rng)]: randomJson(rng) };
      if (rng.chance(0.3)) auth['deviceId'] = randomJson(rng);
      if (rng.chance(0.2)) auth[randomString(rng, 6)] = randomJson(rng);
      try {
        const c = await connectClient(srv.url, '', { auth: { token: undefined, ...auth }, timeoutMs: 3000 });
        outcomes.push('connected');
        c.close();
      } catch (err) {
        const code = ((err as ConnectError).data as { code?: string } | undefined)?.code;
        expect(errorCodes, `${JSON.stringify(auth).slice(0, 200)} ${SEEDED}`).toContain(code);
        outcomes.push(code!);
      }
    }
    expect(outcomes.filter((o) => o !== 'connected').length).toBeGreaterThan(0);
    const stats = srv.server.stats();
    const refused = outcomes.filter((o) => o !== 'connected').length;
    expect(stats.authFailures + stats.rejectedFrames - failures0.authFailures - failures0.rejectedFrames).toBe(refused);
  });
});

// ---- transport garbage ---------------------------------------------------------------------------

interface RawConnection {
  ws: WebSocket;
  received: string[];
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A bare websocket speaking Engine.IO v4 by hand; optionally connected to the main namespace. */
async function openRaw(token?: string): Promise<RawConnection> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
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
    if (text === '2') ws.send('3'); // answer the server's pings
  });
  await waitUntil(() => (received.some((m) => m.startsWith('0{')) ? true : undefined), 3000, 'engine.io open');
  if (token !== undefined) {
    ws.send(`40${JSON.stringify({ token })}`);
    await waitUntil(() => (received.some((m) => m.startsWith('40{')) ? true : undefined), 3000, 'namespace connect');
  }
  return { ws, received, closed, isClosed: () => closedFlag };
}

/** Either the server closed the connection, or it still answers a valid `sub` with a reply. */
async function outcomeOf(raw: RawConnection): Promise<'closed' | 'answered' | 'silent'> {
  // Let the garbage be handled first (Socket.IO hands packets on a tick later).
  await new Promise((r) => setTimeout(r, 20));
  const deadline = Date.now() + 3000;
  if (!raw.isClosed()) raw.ws.send('4299["sub",{"channel":"room:raw"}]');
  while (Date.now() < deadline) {
    if (raw.isClosed()) return 'closed';
    if (raw.received.some((m) => m.startsWith('4399['))) return 'answered';
    await new Promise((r) => setTimeout(r, 10));
  }
  return 'silent';
}

const GARBAGE: readonly (string | Buffer)[] = [
  '42["sub",{"channel":',
  '42{}',
  '42[]',
  '42[1,2]',
  '42"sub"',
  '42null',
  '42["sub",{"channel":"room:raw"}]]]',
  `42["sub",${'['.repeat(5000)}${']'.repeat(5000)}]`,
  '42["__proto__",{"polluted":true}]',
  '421["sub",{"channel":"room:raw","__proto__":{"polluted":true}}]',
  '421["pub",{"channel":"room:raw","type":"t","data":{"constructor":{"prototype":{"polluted":true}}},"id":"x"}]',
  '42["disconnect"]',
  '42["connect",{}]',
  '4',
  '49',
  '4x',
  '4-1',
  '43',
  '431[]',
  '43abc',
  '4999999999999999999999["sub",{}]',
  '45-["sub",{"_placeholder":true,"num":0}]',
  '451-["sub",{"_placeholder":true,"num":0}]',
  '46',
  '40',
  '40{"token":"again"}',
  '41',
  '44{"message":"x"}',
  '40/nowhere,{}',
  '42/nowhere,["sub",{"channel":"room:raw"}]',
  '9',
  'x',
  '',
  '6',
  '5',
  '3',
  '2',
  '2probe',
  '1',
  `42["sub",{"channel":"${'A'.repeat(100_000)}"}]`,
  Buffer.from([0xff, 0x00, 0x42, 0x13, 0x37]),
  Buffer.from('42["sub",{"channel":"room:raw"}]'),
  Buffer.alloc(64 * 1024, 0x41),
];

describe('raw garbage on the transport', () => {
  it('invalid Engine.IO / Socket.IO packets: the server survives, other clients are unaffected', async () => {
    const channel = 'room:raw-watch';
    const watcher = await bystander(channel);
    const connections0 = srv.server.stats().connections;
    const published0 = srv.server.stats().published;
    const token = await srv.token({ sub: 'raw', channels: ['room:*'] });
    const outcomes: string[] = [];

    for (const [i, packet] of GARBAGE.entries()) {
      for (const connected of [false, true]) {
        const raw = await openRaw(connected ? token : undefined);
        raw.ws.send(packet);
        // A binary event waiting for its attachment gets a text packet instead.
        if (typeof packet === 'string' && packet.startsWith('451-')) raw.ws.send('42["sub",{"channel":"room:raw"}]');
        const outcome = await outcomeOf(raw);
        const label = typeof packet === 'string' ? JSON.stringify(packet.slice(0, 60)) : `<buffer ${packet.length}>`;
        outcomes.push(`${i} ${label} ${connected ? 'after connect' : 'before connect'}: ${outcome}`);
        raw.ws.terminate();
        await raw.closed;
      }
    }
    expect(outcomes.filter((o) => o.endsWith('silent'))).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(srv.server.stats().published).toBe(published0);
    // Every raw connection is gone from the books.
    await waitUntil(
      () => (srv.server.stats().connections === connections0 ? true : undefined),
      3000,
      `connections back to ${connections0}`,
    );
    await expectAlive(watcher, channel);
  });

  it('a well-formed raw client still works after its own garbage was refused', async () => {
    const raw = await openRaw(await srv.token({ sub: 'raw2', channels: ['room:*'] }));
    raw.ws.send('421["sub",{"channel":"room/bad"}]');
    raw.ws.send('422["nonsense",{}]');
    raw.ws.send('423["sub",{"channel":"room:ok"}]');
    await waitUntil(() => (raw.received.some((m) => m.startsWith('433[')) ? true : undefined), 3000, 'third reply');
    const reply = (prefix: string): unknown => JSON.parse(raw.received.find((m) => m.startsWith(prefix))!.slice(3));
    expect(reply('431[')).toEqual([{ error: expect.objectContaining({ code: 'invalid_channel' }) }]);
    expect(reply('432[')).toEqual([{ error: expect.objectContaining({ code: 'bad_request' }) }]);
    expect(reply('433[')).toEqual([expect.objectContaining({ channel: 'room:ok' })]);
    const marker = randomUUID();
    await srv.server.publish({ channel: 'room:ok', type: 'm', data: marker });
    await waitUntil(() => (raw.received.some((m) => m.includes(marker)) ? true : undefined), 3000, 'live message');
    raw.ws.close();
    await raw.closed;
  });
});
