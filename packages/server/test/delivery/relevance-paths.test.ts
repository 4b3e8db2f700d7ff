/**
 * Relevance on every path (issue 10): scoped supersession (`scope`: a trip's cancellation
 * supersedes that trip's offer only), what live fan-out decides by a batch alone (a frame with
 * `from`/`upTo`, `supersedes` on the superseder), redelivery through the rules, drops counted by
 * path, and the `scope` option checked in the library and the config file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, type TestServer } from '@tether/testing';
import { createTetherServer, type RelevanceRules } from '@tether/server';
import type { MsgFrame } from '@tether/protocol';
import { RelevanceFilter } from '../../src/delivery/relevance.js';
import { configSchema } from '../../src/config/schema.js';
import { fileSettingsOf } from '../../src/config/to-options.js';

let server: TestServer;
const bed = new TestBed();
afterEach(() => bed.close());

let clockMs = Date.parse('2026-01-01T00:00:00Z');
const now = (): number => clockMs;

const scoped: RelevanceRules = {
  'trip:requested': { supersededBy: ['trip:cancelled', 'trip:taken'], scope: 'trip.id' },
  'eta:update': { supersededBy: ['trip:taken'], scope: 'collapseKey' },
};

async function replayTypes(channel: string): Promise<string[]> {
  const c = await bed.connect({ sub: 'u1', channels: ['*'] });
  const reply = await c.sub(channel, { offset: 0 });
  if ('error' in reply) throw new Error(reply.error.message);
  return c.messages.frames
    .filter((f) => f.channel === channel)
    .flatMap((f) => f.messages.map((m) => `${m.type} ${JSON.stringify(m.data)}`));
}

describe('scoped supersession', () => {
  it("a trip's cancellation supersedes that trip's offer only (scope: a path into data)", async () => {
    server = await bed.start({ relevance: scoped });
    const publish = (type: string, id: number) =>
      server.server.publish({ channel: 'user:d', type, data: { trip: { id } } });
    await publish('trip:requested', 1);
    await publish('trip:requested', 2);
    await publish('trip:cancelled', 1);
    await publish('trip:requested', 3);
    await publish('trip:taken', 3);
    expect(await replayTypes('user:d')).toEqual([
      'trip:requested {"trip":{"id":2}}',
      'trip:cancelled {"trip":{"id":1}}',
      'trip:taken {"trip":{"id":3}}',
    ]);
    expect(server.server.stats().droppedBy.replay.superseded).toBe(2);
  });

  it('type-wide (no scope) stays possible: any later cancellation hides every earlier offer', async () => {
    server = await bed.start({ relevance: { 'trip:requested': { supersededBy: ['trip:cancelled'] } } });
    await server.server.publish({ channel: 'user:e', type: 'trip:requested', data: { tripId: 'T2' } });
    await server.server.publish({ channel: 'user:e', type: 'trip:cancelled', data: { tripId: 'T1' } });
    expect(await replayTypes('user:e')).toEqual(['trip:cancelled {"tripId":"T1"}']);
  });

  it("scope 'collapseKey' compares the messages' own collapse keys; a message without one is never superseded", async () => {
    server = await bed.start({ relevance: scoped });
    const eta = (key: string | undefined, n: number) =>
      server.server.publish({ channel: 'user:f', type: 'eta:update', data: n, ...(key ? { collapseKey: key } : {}) });
    await eta('trip:1', 1);
    await eta(undefined, 2);
    await eta('trip:2', 3);
    await server.server.publish({ channel: 'user:f', type: 'trip:taken', data: 0, collapseKey: 'trip:1' });
    expect(await replayTypes('user:f')).toEqual(['eta:update 2', 'eta:update 3', 'trip:taken 0']);
  });

  it('the filter decides the same by traits: what the push fallback asks before it pushes', () => {
    const filter = new RelevanceFilter(scoped, () => undefined);
    const stored = (offset: number, type: string, id: number) => ({
      id: `m${offset}`,
      offset,
      type,
      data: { trip: { id } },
      ts: 0,
    });
    const traits = [stored(1, 'trip:requested', 1), stored(2, 'trip:requested', 2), stored(3, 'trip:cancelled', 1)].map(
      (m) => filter.traitsOf(m, 'user:d'),
    );
    expect([...filter.staticDrops(traits, 0)]).toEqual([[1, 'superseded']]);
  });
});

describe('live fan-out, redelivery', () => {
  it('live: a batch drops what a later message of it supersedes, says so (from/upTo) and names it (supersedes)', async () => {
    server = await bed.start({ relevance: scoped });
    const c = await bed.connect({ sub: 'd1', channels: [] });
    const offer = (id: number) => ({ channel: 'user:d1', type: 'trip:requested', data: { trip: { id } } });
    await server.server.publish(offer(1));
    const taken = (id: number) => ({ ...offer(id), type: 'trip:taken' });
    await server.server.publishMany([offer(2), offer(3), taken(2), taken(1)]);
    await c.messages.waitForCount(4, { channel: 'user:d1' });
    const frames = c.messages.frames.filter((f) => f.channel === 'user:d1');
    expect(frames[0]).toEqual(expect.not.objectContaining({ upTo: expect.anything() }));
    const batch = frames[1] as MsgFrame;
    expect(batch.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
    expect(batch).toMatchObject({ from: 2, upTo: 5 });
    // The live frame names what a superseder makes irrelevant of what went out before it (offer 1,
    // sent already), for an SDK that has not handled it yet; offer 2 was never sent.
    expect(batch.messages[1]!.supersedes).toBeUndefined();
    expect(batch.messages[2]!.supersedes).toEqual([1]);
    expect(server.server.stats().droppedBy.live).toEqual({ ttl: 0, superseded: 1, collapsed: 0, irrelevant: 0 });
    expect(server.server.stats().dropped.superseded).toBe(1);
  });

  it('live: a message that expired before it went out is not sent (decided per message, no hook)', () => {
    const filter = new RelevanceFilter({ 'rider:location': { ttl: 100 } }, () => undefined);
    const at = (offset: number, ts: number, type = 'rider:location', ttl?: number) => ({
      id: `m${offset}`,
      offset,
      type,
      data: {},
      ts,
      ...(ttl ? { ttl } : {}),
    });
    expect(filter.liveDrops([at(1, 1000)], 'c', 1100)).toBeUndefined(); // at its expiry: still relevant
    expect([...filter.liveDrops([at(1, 1000)], 'c', 1101)!]).toEqual([[1, 'ttl']]);
    expect([...filter.liveDrops([at(2, 1000, 'note', 50), at(3, 1000, 'note')], 'c', 1051)!]).toEqual([[2, 'ttl']]);
    expect(filter.liveDrops([at(3, 1000, 'note')], 'c', 10 ** 9)).toBeUndefined();
  });

  it('redelivery: what expired since it was sent is not sent again; the frame moves the client past it', async () => {
    server = await bed.start({
      relevance: { 'rider:location': { ttl: 150 } },
      now,
      ackTimeoutMs: 100,
      retryAckTimeoutMs: 100,
      retryDelayMs: 20,
      maxRetries: 2,
    });
    const c = await bed.connect({ sub: 'd2', channels: [] });
    await server.server.publish({ channel: 'user:d2', type: 'rider:location', data: { n: 1 } });
    await server.server.publish({ channel: 'user:d2', type: 'note', data: 'keep' });
    await c.messages.waitForCount(2, { channel: 'user:d2' });
    clockMs += 200; // never acked: due again, and the location is stale by now
    await c.messages.waitForCount(3, { channel: 'user:d2', timeoutMs: 5000 });
    const again = c.messages.frames.filter((f) => f.channel === 'user:d2').at(-1)!;
    expect(again.messages.map((m) => m.type)).toEqual(['note']);
    expect(again).toMatchObject({ from: 1, upTo: 2 });
    expect(server.server.stats().droppedBy.redelivery.ttl).toBeGreaterThanOrEqual(1);
    expect(server.server.stats().droppedBy.replay.ttl).toBe(0);
  });

  it('the stored ttl is the one that applies (the rule shorter than the own), and the envelope says when it ends', async () => {
    server = await bed.start({ relevance: { 'rider:location': { ttl: 8000 } }, now });
    const c = await bed.connect({ sub: 'd3', channels: [] });
    await server.server.publish({ channel: 'user:d3', type: 'rider:location', data: {}, ttl: 60_000 });
    await server.server.publish({ channel: 'user:d3', type: 'rider:location', data: {}, ttl: 2000 });
    await c.messages.waitForCount(2, { channel: 'user:d3' });
    const [a, b] = c.messages.frames.flatMap((f) => f.messages);
    expect([a!.ttl, a!.expiresAt]).toEqual([8000, clockMs + 8000]);
    expect([b!.ttl, b!.expiresAt]).toEqual([2000, clockMs + 2000]);
  });
});

describe('the scope option', () => {
  it('the library refuses a scope without supersededBy (a TypeError naming the rule), and starts nothing', async () => {
    await expect(
      createTetherServer({
        logger: false,
        jwtSecret: 'a-secret-of-at-least-32-bytes-long!!',
        relevance: { 'trip:x': { scope: 'tripId' } },
      }),
    ).rejects.toThrow(/relevance\['trip:x'\]\.scope needs supersededBy/);
  });

  it('the config file takes scope (a path or collapseKey) and refuses it alone', () => {
    const ok = configSchema.parse({
      relevance: { 'trip:requested': { supersededBy: ['trip:cancelled'], scope: 'tripId' } },
    });
    expect(fileSettingsOf(ok).options.relevance).toEqual({
      'trip:requested': { supersededBy: ['trip:cancelled'], scope: 'tripId' },
    });
    const bad = configSchema.safeParse({ relevance: { 'trip:requested': { scope: 'tripId' } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['relevance', 'trip:requested', 'scope']);
  });
});
