/**
 * The guard (src/guard/guard.ts): nothing a client sends throws out of a handler. The packets that
 * used to end the process (`42`, `420`, `42/,`) and every other malformed event packet get
 * `bad_request` from a server running as a child process (so an exit would show), the sender stays
 * connected, and a bystander notices nothing. Repeated invalid frames close only the sender.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import {
  connectClient,
  isErrorReply,
  startServer,
  startServerProcess,
  type ServerProcess,
  type TestClient,
} from '@tether/testing';
import type { ErrorFrame } from '@tether/protocol';
import { errorCodeOf, openRaw } from './raw-socket.js';

/** Event packets with no usable name or payload: each must be answered `bad_request`. */
const MALFORMED_EVENTS: readonly string[] = [
  '42',
  '420',
  '421',
  '42/,',
  '42/,7',
  '42[]',
  '427[]',
  '42[1]',
  '42[null]',
  '42[{}]',
  '42[[]]',
  '42[true]',
  '42[1e308]',
  '42[-0]',
  '42[9007199254740993]',
  '42{}',
  '42"sub"',
  '42null',
  '42 ',
  '42["sub",{"channel":',
  '428["sub",{"channel":',
  '42["sub"]',
  '429["sub"]',
  '42["sub",{},{}]',
  '42["sub",[]]',
  '42["pub",null]',
  '42["ack","x"]',
  '42["probe",{"ts":"now"}]',
  '42["refresh",{}]',
  '42["unsub",{"channel":"room:a","x":1}]',
  '42["error",{}]',
  '42["msg",{}]',
  '42["__proto__",{}]',
  '42["constructor"]',
  '42["hasOwnProperty",{}]',
  '42["toString"]',
  '42["nonsense",1]',
  `42["${'é'.repeat(5000)}"]`,
  `42["sub",${'['.repeat(20_000)}${']'.repeat(20_000)}]`,
  `42["sub",{"channel":"room:a","since":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]`,
];

let srv: ServerProcess;

beforeAll(async () => {
  srv = await startServerProcess({ store: 'memory', env: { TETHER_LOG_LEVEL: 'debug' } });
});

afterAll(async () => {
  await srv?.stop();
});

async function httpPublish(channel: string, data: unknown): Promise<Response> {
  return fetch(`${srv.url}/v1/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, type: 't', data }),
  });
}

describe('malformed event packets from an authenticated socket (server as a child process)', () => {
  it('each gets bad_request; the sender stays connected; the server stays up; a bystander notices nothing', async () => {
    const bystander = await connectClient(srv.url, await srv.token({ sub: 'bystander', channels: ['room:*'] }));
    const disconnects: string[] = [];
    bystander.socket.on('disconnect', (reason) => disconnects.push(reason));
    expect(isErrorReply(await bystander.sub('room:watch'))).toBe(false);
    const token = await srv.token({ sub: 'raw', channels: ['room:*'] });
    const problems: string[] = [];
    const socketIds: string[] = [];

    for (const [i, packet] of MALFORMED_EVENTS.entries()) {
      const label = `#${i} ${JSON.stringify(packet.slice(0, 40))}`;
      const raw = await openRaw(srv.port, token);
      socketIds.push(JSON.parse(raw.received.find((m) => m.startsWith('40{'))!.slice(2)).sid as string);
      const from = raw.received.length;
      raw.send(packet);
      const answer = await raw.waitFor((m) => errorCodeOf(m) !== undefined, `an answer to ${label}`, from);
      const { code, ackId } = errorCodeOf(answer)!;
      if (code !== 'bad_request') problems.push(`${label}: ${code}`);
      const expectedAck = /^42(?:\/,)?(\d+)/.exec(packet)?.[1];
      if (expectedAck !== undefined && ackId !== Number(expectedAck)) {
        problems.push(`${label}: answered through ack ${ackId}, not ${expectedAck}`);
      }
      // Still connected and served: a valid frame gets its reply.
      raw.send('4299["sub",{"channel":"room:ok"}]');
      await raw.waitFor((m) => m.startsWith('4399[{"channel":"room:ok"'), `a reply after ${label}`, from);
      if (raw.isClosed()) problems.push(`${label}: connection closed`);
      await raw.terminate();
    }
    expect(problems).toEqual([]);

    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const marker = randomUUID();
    expect((await httpPublish('room:watch', marker)).status).toBe(200);
    await bystander.messages.waitFor((m) => m.data === marker);
    expect(disconnects).toEqual([]);
    bystander.close();

    // One log line per refusal names the connection: socket id, tenant, sub.
    const lines = srv
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"request refused"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const sid of socketIds) {
      expect(lines).toContainEqual(
        expect.objectContaining({ socketId: sid, sub: 'raw', tenant: 'default', code: 'bad_request' }),
      );
    }
    expect(srv.output()).not.toMatch(/"level":50/); // nothing logged as a server fault
  });

  it('over-deep and malformed HTTP bodies answer 400 bad_request, never 500', async () => {
    const bodies = [
      `{"channel":"room:a","type":"t","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      `{"channel":"room:a","type":"t","data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      '{"channel":"room:a","type":"t","data":{"__proto__":{"x":1}}}',
      '{"channel":"room:a",',
      '',
      'null',
      '[]',
    ];
    for (const body of bodies) {
      const res = await fetch(`${srv.url}/v1/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
        body,
      });
      expect([res.status, body.slice(0, 60)]).toEqual([400, body.slice(0, 60)]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
    // Refused before parsing (deep JSON costs ~1 µs a level to parse): the message says so.
    const deep = await fetch(`${srv.url}/v1/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.apiKey}`, 'content-type': 'application/json' },
      body: bodies[1],
    });
    expect(((await deep.json()) as { error: { message: string } }).error.message).toMatch(/nested deeper than 33/);
    const token = await srv.token({ sub: 'poller', channels: ['*'] });
    for (const route of ['/v1/poll', '/v1/ack']) {
      const res = await fetch(`${srv.url}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: `{"positions":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      });
      expect(res.status).toBe(400);
    }
  });
});

describe('the invalid-frame budget', () => {
  it('closes a socket past maxInvalidFramesPerMinute with too_many_invalid_frames; other sockets carry on', async () => {
    const local = await startServer({ maxInvalidFramesPerMinute: 3 });
    const clients: TestClient[] = [];
    try {
      const token = await local.token({ sub: 'u', channels: ['room:*'] });
      const sender = await connectClient(local.url, token);
      const sibling = await connectClient(local.url, token); // same user, other connection
      clients.push(sender, sibling);
      expect(isErrorReply(await sibling.sub('room:a'))).toBe(false);
      const errors: ErrorFrame[] = [];
      sender.socket.on('error', (e) => errors.push(e));
      const disconnected = new Promise<string>((resolve) => sender.socket.on('disconnect', resolve));

      // Refusals that are not malformed input do not count.
      for (let i = 0; i < 10; i++)
        expect(await sender.sub(`secret:${i}`)).toMatchObject({ error: { code: 'forbidden' } });
      for (let i = 0; i < 3; i++)
        expect(await sender.sub('room/bad')).toMatchObject({ error: { code: 'invalid_channel' } });
      expect(isErrorReply(await sender.sub('room:b'))).toBe(false);
      expect(sender.socket.connected).toBe(true);

      (sender.socket as unknown as { emit(e: string): void }).emit('nonsense');
      expect(await disconnected).toBe('io server disconnect');
      expect(errors.map((e) => e.code)).toEqual(['bad_request', 'too_many_invalid_frames']);

      const marker = randomUUID();
      await local.server.publish({ channel: 'room:a', type: 't', data: marker });
      await sibling.messages.waitFor((m) => m.data === marker);
      expect(sibling.socket.connected).toBe(true);
    } finally {
      for (const c of clients) c.close();
      await local.close();
    }
  });
});

describe('faults of the app and the server are contained', () => {
  it('an onConnection hook that throws is logged; the connection works', async () => {
    const local = await startServer({
      onConnection: () => {
        throw new Error('app bug');
      },
    });
    try {
      const client = await connectClient(local.url, await local.token({ sub: 'u', channels: ['room:*'] }));
      expect(isErrorReply(await client.sub('room:a'))).toBe(false);
      const marker = randomUUID();
      await local.server.publish({ channel: 'room:a', type: 't', data: marker });
      await client.messages.waitFor((m) => m.data === marker);
      client.close();
    } finally {
      await local.close();
    }
  });
});
