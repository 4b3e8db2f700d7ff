/**
 * Property-based fuzzing (fast-check; the arbitraries are in @tether/testing's fuzz-frames.ts).
 * Properties: the server never exits (one property runs it as a child process, so an exit shows),
 * never answers `internal` to client input, answers only documented codes, and the state it reports
 * stays consistent: what `/v1/poll` shows of a channel is exactly what was accepted, and a bystander
 * gets every accepted message once, in order. A failure prints its seed: rerun with
 * TETHER_FUZZ_SEED=<seed>. The long run is `npm run bench -- fuzz`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  connectClient,
  engineIoPacket,
  eventFrame,
  eventPacket,
  httpBody,
  isErrorReply,
  startServer,
  startServerProcess,
  waitUntil,
  type EventFrame,
  type ServerProcess,
  type TestClient,
  type TestServer,
} from '@tether/testing';
import { errorCodes, type PollChannelMessages, type PollResponse } from '@tether/protocol';
import { errorCodeOf, openRaw, type RawSocket } from './raw-socket.js';

const SEED = process.env['TETHER_FUZZ_SEED'] === undefined ? undefined : Number(process.env['TETHER_FUZZ_SEED']);
const settings = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(SEED === undefined ? {} : { seed: SEED }),
});
const DOCUMENTED = new Set<string>(errorCodes);

/** Codes in what the server sent: `error` events, ack replies, `connect_error` packets. */
function codesIn(packets: readonly string[]): string[] {
  const codes: string[] = [];
  for (const packet of packets) {
    const found = errorCodeOf(packet);
    if (found) codes.push(found.code);
    const refused = /^44(\/[^,]*,)?(\{.*)$/s.exec(packet);
    if (refused) {
      const body = JSON.parse(refused[2]!) as { message?: string; data?: { code?: string } };
      // Only `/` exists: Socket.IO itself refuses other namespaces, without a Tether code.
      if (refused[1] !== undefined && refused[1] !== '/,' && body.message === 'Invalid namespace') continue;
      codes.push(body.data?.code ?? 'connect_error without a code');
    }
  }
  return codes;
}

function badCodes(codes: readonly string[]): string[] {
  return codes.filter((code) => code === 'internal' || !DOCUMENTED.has(code));
}

// ---- raw packets against a server process ----------------------------------------------------------

describe('Engine.IO and Socket.IO packets of every type (server as a child process)', () => {
  let proc: ServerProcess;

  beforeAll(async () => {
    proc = await startServerProcess({ store: 'memory' });
  });
  afterAll(async () => {
    await proc?.stop();
  });

  it('the server never exits, never answers internal, and a bystander notices nothing', async () => {
    const bystander = await connectClient(proc.url, await proc.token({ sub: 'bystander', channels: ['room:*'] }));
    const disconnects: string[] = [];
    bystander.socket.on('disconnect', (reason) => disconnects.push(reason));
    expect(isErrorReply(await bystander.sub('room:watch'))).toBe(false);
    const token = await proc.token({ sub: 'raw', channels: ['room:*', 'user:*'] });
    const BARRIER = '4299999999["probe",{"ts":1}]';

    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(engineIoPacket, { minLength: 1, maxLength: 12 }),
        async (authenticated, packets) => {
          const raw = await openRaw(proc.port, authenticated ? token : undefined);
          const from = raw.received.length;
          for (const packet of packets) raw.send(typeof packet === 'string' ? packet : Buffer.from(packet));
          // The server closed the connection, or answers a valid frame sent after the packets, or
          // (when the packets left the namespace, e.g. `41`) answers a new CONNECT.
          raw.send(BARRIER);
          const outcome = (): string | undefined => {
            if (raw.isClosed()) return 'closed';
            const after = raw.received.slice(from);
            if (after.some((m) => m.startsWith('4399999999['))) return 'answered';
            return after.some((m) => m.startsWith('40{') || m.startsWith('44')) ? 'connected' : undefined;
          };
          let seen = await waitUntil(outcome, 1000, 'closed or answered').catch(() => undefined);
          if (seen === undefined) {
            raw.send(`40${JSON.stringify({ token })}`);
            seen = await waitUntil(outcome, 2000, 'closed or connected').catch(() => 'silent');
          }
          expect(seen).not.toBe('silent');
          const received = raw.received.slice(from);
          await raw.terminate();
          expect(badCodes(codesIn(received))).toEqual([]);
        },
      ),
      settings(120),
    );

    expect(() => process.kill(proc.pid, 0)).not.toThrow();
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);
    const res = await fetch(`${proc.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proc.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'room:watch', type: 't', data: 'still here' }),
    });
    expect(res.status).toBe(200);
    await bystander.messages.waitFor((m) => m.data === 'still here');
    expect(disconnects).toEqual([]);
    bystander.close();
    expect(proc.output()).not.toMatch(/"level":(50|60)/);
  });
});

// ---- hostile frames and HTTP bodies, with the state checked --------------------------------------

/** A message the server said it accepted: its channel and offset, what `data` must read back as. */
interface Accepted {
  channel: string;
  offset: number;
  json: string;
  /** Reads may skip it (relevance: ttl, collapseKey); live delivery may not. */
  skippable: boolean;
}

describe('valid-looking frames and HTTP bodies with hostile values', () => {
  const CHANNELS = ['room:f0', 'room:f1', 'room:f2', 'user:fuzzer', 'user:other', 'secret:x', 'room:*'];
  const WATCHED = ['room:f0', 'room:f1', 'room:f2'];
  const MAX_FRAME_TEXT = 30_000; // under the transport limit of maxPayloadBytes 8192 (2 × 8192 + 16 KiB)
  let srv: TestServer;
  let bystander: TestClient;
  let fuzzer: RawSocket;
  let tokens: string[];
  const accepted = new Map<string, Accepted>();
  /** Publishes accepted into another tenant (an API key for any tenant may): counted, not read back. */
  let acceptedElsewhere = 0;

  const accept = (channel: unknown, reply: unknown, data: unknown, skippable: boolean): void => {
    const offset = (reply as { offset?: unknown }).offset;
    if (typeof channel !== 'string' || typeof offset !== 'number')
      throw new Error(`odd acceptance ${JSON.stringify(reply)}`);
    const key = `${channel}#${offset}`;
    // A repeated id answers with the first publish's offset: that one is what is stored.
    if (!accepted.has(key)) accepted.set(key, { channel, offset, json: JSON.stringify(data), skippable });
  };

  beforeAll(async () => {
    srv = await startServer({
      maxPayloadBytes: 8192,
      maxChannelsPerConnection: 20,
      maxPollWaitSeconds: 0,
      // This socket is meant to send thousands of invalid frames; the budget has its own test.
      maxInvalidFramesPerMinute: 1_000_000,
      // `presence` and `members` frames reach the tracker (and subscriptions its channel presence).
      presence: { channels: [{ pattern: 'room:f*' }, { pattern: 'room:*', mode: 'counts' }], graceMs: 50 },
    });
    bystander = await connectClient(srv.url, await srv.token({ sub: 'bystander', channels: ['room:*'] }));
    for (const channel of WATCHED) expect(isErrorReply(await bystander.sub(channel))).toBe(false);
    // It acks what it gets, as the SDK does, so redeliveries stay rare.
    bystander.socket.on('msg', (frame) => {
      const last = frame.messages.at(-1);
      if (last) bystander.ack({ [frame.channel]: last.offset });
    });
    const claims = { sub: 'fuzzer', channels: ['room:*', 'user:*'], publish: ['room:f*'] };
    tokens = [
      await srv.token(claims),
      await srv.token({ ...claims, sub: 'other' }),
      await srv.token({ ...claims, ttlSeconds: 60, now: () => Date.now() - 3_600_000 }),
    ];
    fuzzer = await openRaw(srv.port, tokens[0]);
  });

  afterAll(async () => {
    bystander?.close();
    await fuzzer?.terminate();
    await srv?.close();
  });

  it('socket frames of every inbound event: documented answers, never internal, the connection stays', async () => {
    let nextAck = 1;
    const frames = eventFrame({ channels: CHANNELS, tokens }).filter(
      (f) => f.args.reduce((n, a) => n + a.length, 0) < MAX_FRAME_TEXT,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 8 }), async (batch: EventFrame[]) => {
        const from = fuzzer.received.length;
        const sent = batch.map((frame) => {
          // A publish always asks for its reply: that is how the test knows what was accepted.
          const f = frame.event === 'pub' ? { ...frame, withReply: true } : frame;
          const ackId = nextAck++;
          fuzzer.send(`4${eventPacket(f, ackId)}`);
          return { frame: f, ackId };
        });
        const barrier = nextAck++;
        fuzzer.send(`42${barrier}["probe",{"ts":0}]`);
        await fuzzer.waitFor((m) => m.startsWith(`43${barrier}[`), 'the barrier reply', from);
        for (const { frame, ackId } of sent.filter((s) => s.frame.withReply)) {
          const reply = await fuzzer.waitFor((m) => m.startsWith(`43${ackId}[`), `reply ${ackId}`, from);
          const [body] = JSON.parse(reply.slice(2 + String(ackId).length)) as [unknown];
          if (frame.event === 'pub' && !isErrorReply(body as object)) {
            const pub = JSON.parse(frame.args[0]!) as Record<string, unknown>;
            accept(pub['channel'], body, pub['data'], pub['ttl'] !== undefined || pub['collapseKey'] !== undefined);
          }
        }
        expect(badCodes(codesIn(fuzzer.received.slice(from)))).toEqual([]);
        expect(fuzzer.isClosed()).toBe(false);
      }),
      settings(80),
    );
  });

  it('HTTP bodies for /v1/publish, /v1/poll, /v1/ack and /v1/read: 200 or a documented 4xx, never 500', async () => {
    const userToken = tokens[0]!;
    const routes = ['/v1/publish', '/v1/poll', '/v1/ack', '/v1/read'] as const;
    const requests = fc
      .constantFrom(...routes)
      .chain((route) => fc.record({ route: fc.constant(route), body: httpBody(route, CHANNELS) }));
    await fc.assert(
      fc.asyncProperty(requests, async ({ route, body }) => {
        const key = route === '/v1/publish' ? srv.apiKey : userToken;
        const res = await fetch(`${srv.url}${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
        });
        const answer = (await res.json()) as { error?: { code: string } };
        if (res.status === 200) {
          if (route === '/v1/publish') {
            const pub = JSON.parse(body) as Record<string, unknown>;
            const tenant = pub['tenant'] ?? 'default';
            if ((answer as { duplicate?: boolean }).duplicate !== false) return;
            if (tenant !== 'default') acceptedElsewhere++;
            else
              accept(pub['channel'], answer, pub['data'], pub['ttl'] !== undefined || pub['collapseKey'] !== undefined);
          }
          return;
        }
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(badCodes([answer.error?.code ?? 'no code'])).toEqual([]);
      }),
      settings(150),
    );
  });

  it('the state stays consistent: poll shows exactly what was accepted; the bystander got it all in order', async () => {
    const published = srv.server.stats().published;
    expect(published).toBe(accepted.size + acceptedElsewhere);
    const observer = await srv.token({ sub: 'observer', channels: ['*'] });
    const res = await fetch(`${srv.url}/v1/poll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${observer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ positions: Object.fromEntries(WATCHED.map((c) => [c, { offset: 0 }])) }),
    });
    expect(res.status).toBe(200);
    const poll = (await res.json()) as PollResponse;
    for (const channel of WATCHED) {
      const mine = [...accepted.values()].filter((a) => a.channel === channel).sort((a, b) => a.offset - b.offset);
      const read = poll.channels[channel] as PollChannelMessages;
      expect(read.upTo, channel).toBe(mine.length);
      expect(mine.map((a) => a.offset)).toEqual(mine.map((_, i) => i + 1));
      const byOffset = new Map(read.messages.map((m) => [m.offset, JSON.stringify(m.data)]));
      for (const a of mine) {
        if (byOffset.has(a.offset)) expect(byOffset.get(a.offset), `${channel}#${a.offset}`).toBe(a.json);
        else expect(a.skippable, `${channel}#${a.offset} missing from the poll`).toBe(true);
      }
      for (const offset of byOffset.keys()) expect(mine.some((a) => a.offset === offset)).toBe(true);
      // Live delivery: every accepted offset, in order (a redelivery of one not yet acked aside).
      const firstSeen = (): { offset: number; json: string }[] => {
        const seen = new Map<number, string>();
        for (const m of bystander.messages.messages) {
          if (m.channel === channel && !seen.has(m.offset)) seen.set(m.offset, JSON.stringify(m.data));
        }
        return [...seen].map(([offset, json]) => ({ offset, json }));
      };
      await waitUntil(
        () => (firstSeen().length >= mine.length ? true : undefined),
        5000,
        `${mine.length} messages of ${channel} at the bystander`,
      );
      expect(firstSeen()).toEqual(mine.map((a) => ({ offset: a.offset, json: a.json })));
    }
    expect(bystander.socket.connected).toBe(true);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
