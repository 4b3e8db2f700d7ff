/**
 * The channel pipeline on its own (no network): the ordering rules that make exactly-once hold
 * whatever order frames arrive in. Fake timers for the gap timeout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Envelope, Position, TetherError } from '@tether/protocol';
import { ChannelPipeline, type Incoming, type PipelineHost, type ResyncContext } from '../src/pipeline.js';

const env = (offset: number): Envelope => ({ id: `m${offset}`, offset, type: 't', data: offset, ts: 0 });
const live = (epoch: string, ...offsets: number[]): Incoming => ({
  kind: 'messages',
  epoch,
  messages: offsets.map(env),
});
const replay = (epoch: string, upTo: number, ...offsets: number[]): Incoming => ({
  kind: 'messages',
  epoch,
  messages: offsets.map(env),
  upTo,
});

function harness(start?: Position, serverNow?: () => number) {
  const handled: number[] = [];
  const expired: number[] = [];
  const superseded: number[] = [];
  const gaps: Position[] = [];
  const resyncs: ResyncContext[] = [];
  const errors: TetherError[] = [];
  const counts = { handled: 0, deduplicated: 0, handlerErrors: 0 };
  const advanced: Position[] = [];
  const host: PipelineHost = {
    channel: 'c',
    advanced: (p) => advanced.push(p),
    gap: (p) => gaps.push(p),
    resync: async (context) => void resyncs.push(context),
    error: (e) => errors.push(e),
    count: (counter) => counts[counter]++,
    stale: (m, reason) => (reason === 'expired' ? expired : superseded).push(m.offset),
  };
  const pipeline = new ChannelPipeline(
    host,
    {
      gapTimeoutMs: 100,
      handlerRetry: { initialDelayMs: 10, maxDelayMs: 10, factor: 2 },
      ...(serverNow ? { serverNow } : {}),
    },
    (m) => void handled.push(m.offset),
    start,
  );
  return { pipeline, handled, gaps, resyncs, errors, counts, advanced, expired, superseded };
}

afterEach(() => vi.useRealTimers());

/** A live or redelivered frame the server's rules thinned: it covers `from ..= upTo` only. */
const thinned = (epoch: string, from: number, upTo: number, ...offsets: number[]): Incoming => ({
  kind: 'messages',
  epoch,
  messages: offsets.map(env),
  upTo,
  from,
});

describe('ChannelPipeline: relevance on the client', () => {
  it('a thinned frame at the position moves past its skipped offsets', async () => {
    const h = harness({ epoch: 'E', offset: 2 });
    h.pipeline.push(thinned('E', 3, 6, 4, 6));
    await h.pipeline.settled();
    expect(h.handled).toEqual([4, 6]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 6 });
  });

  it('a thinned frame ahead of the position is held, never used to jump a gap; the gap fills it', async () => {
    vi.useFakeTimers();
    const h = harness({ epoch: 'E', offset: 2 });
    h.pipeline.push(thinned('E', 5, 7, 6));
    await h.pipeline.settled();
    expect(h.handled).toEqual([]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 2 });
    expect(h.pipeline.expected).toEqual({ epoch: 'E', offset: 2 });
    await vi.advanceTimersByTimeAsync(100);
    expect(h.gaps).toEqual([{ epoch: 'E', offset: 2 }]);
    h.pipeline.push(live('E', 3, 4));
    await h.pipeline.settled();
    expect(h.handled).toEqual([3, 4, 6]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 7 });
  });

  it('a message past its expiresAt (server clock) is not handled: counted, the position moves on', async () => {
    let serverMs = 10_000;
    const h = harness({ epoch: 'E', offset: 0 }, () => serverMs);
    const at = (offset: number, expiresAt?: number): Envelope => ({
      ...env(offset),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [at(1, 9_999), at(2, 10_000), at(3)] });
    await h.pipeline.settled();
    expect(h.handled).toEqual([2, 3]); // at exactly its expiry it is still relevant (as on the server)
    expect(h.expired).toEqual([1]);
    expect(h.advanced.at(-1)).toEqual({ epoch: 'E', offset: 3 });
    serverMs = 20_000;
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [at(4, 19_000)] });
    await h.pipeline.settled();
    expect(h.expired).toEqual([1, 4]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 4 });
  });
});

describe('ChannelPipeline: supersedes', () => {
  it('skips a message that a later message already in hand supersedes (a burst), and only then', async () => {
    const h = harness({ epoch: 'E', offset: 0 });
    const offer = (offset: number): Envelope => env(offset);
    const taken = (offset: number, supersedes: number[]): Envelope => ({ ...env(offset), supersedes });
    // A thawed pipe: the frames arrive together, the first one included.
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [offer(1)] });
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [offer(2)] });
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [taken(3, [1])] });
    await h.pipeline.settled();
    expect(h.handled).toEqual([2, 3]);
    expect(h.superseded).toEqual([1]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 3 });
    // Handled already: a later superseder changes nothing (no second look, no count).
    h.pipeline.push({ kind: 'messages', epoch: 'E', messages: [taken(4, [2])] });
    await h.pipeline.settled();
    expect(h.handled).toEqual([2, 3, 4]);
    expect(h.superseded).toEqual([1]);
  });
});

describe('ChannelPipeline', () => {
  it('at offset 0 adopts the epoch of the first frame (a channel that was unwritten): no gap request, no resync', async () => {
    const h = harness({ epoch: '0', offset: 0 });
    expect(h.pipeline.expected).toEqual({ epoch: '0', offset: 0 });
    h.pipeline.push(live('E', 1, 2));
    // What the queued frame will have handled is where an HTTP poll asks from.
    expect(h.pipeline.expected).toEqual({ epoch: 'E', offset: 2 });
    h.pipeline.push(replay('E', 4, 3, 4));
    await h.pipeline.settled();
    expect(h.handled).toEqual([1, 2, 3, 4]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 4 });
    expect(h.gaps).toEqual([]);
    expect(h.resyncs).toEqual([]);
  });

  it('past offset 0 a frame of another epoch is not adopted: it asks from its position (to be told resync)', async () => {
    const h = harness({ epoch: 'E', offset: 3 });
    h.pipeline.push(live('F', 1, 2));
    await h.pipeline.settled();
    expect(h.handled).toEqual([]);
    expect(h.gaps).toEqual([{ epoch: 'E', offset: 3 }]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 3 });
  });

  it('at offset 0 after a resync, late frames of the epoch it left are dropped, not adopted', async () => {
    const h = harness({ epoch: 'E', offset: 5 });
    h.pipeline.push({ kind: 'resync', epoch: '0', offset: 0 });
    h.pipeline.push(live('E', 6));
    h.pipeline.push(live('F', 1));
    await h.pipeline.settled();
    expect(h.handled).toEqual([1]);
    expect(h.counts.deduplicated).toBe(1);
    expect(h.pipeline.position).toEqual({ epoch: 'F', offset: 1 });
  });

  it('drops what is at or below the position, and counts it', async () => {
    const h = harness({ epoch: 'E', offset: 2 });
    h.pipeline.push(live('E', 1, 2, 3));
    h.pipeline.push(live('E', 3, 4));
    await h.pipeline.settled();
    expect(h.handled).toEqual([3, 4]);
    expect(h.counts.deduplicated).toBe(3);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 4 });
  });

  it('holds a live message ahead of position+1 until the gap is filled, and asks for the gap if it is not', async () => {
    vi.useFakeTimers();
    const h = harness({ epoch: 'E', offset: 0 });
    h.pipeline.push(live('E', 3, 4));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.handled).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.gaps).toEqual([{ epoch: 'E', offset: 0 }]);
    // The answer to the gap request: a replay batch from the position.
    h.pipeline.push(replay('E', 4, 1, 2, 3, 4));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.handled).toEqual([1, 2, 3, 4]);
    expect(h.counts.deduplicated).toBe(2); // the held 3 and 4
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.gaps).toHaveLength(1); // filled: no more requests
  });

  it('a late live frame fills the gap before the timeout: nothing is asked', async () => {
    vi.useFakeTimers();
    const h = harness({ epoch: 'E', offset: 0 });
    h.pipeline.push(live('E', 2));
    h.pipeline.push(live('E', 1));
    await vi.advanceTimersByTimeAsync(500);
    expect(h.handled).toEqual([1, 2]);
    expect(h.gaps).toEqual([]);
  });

  it('a replay batch covers the offsets it skips (relevance rules), and upTo moves the position past the tail', async () => {
    const h = harness({ epoch: 'E', offset: 4 });
    h.pipeline.push(replay('E', 12, 7, 9));
    await h.pipeline.settled();
    expect(h.handled).toEqual([7, 9]);
    expect(h.pipeline.position).toEqual({ epoch: 'E', offset: 12 });
    h.pipeline.push(live('E', 13));
    await h.pipeline.settled();
    expect(h.handled).toEqual([7, 9, 13]);
  });

  it('a subscription without a position starts at its first live frame; expected runs ahead of what is queued', async () => {
    const h = harness(undefined);
    expect(h.pipeline.expected).toBeUndefined();
    h.pipeline.push(live('E', 41, 42));
    await h.pipeline.settled();
    expect(h.handled).toEqual([41, 42]);
    expect(h.pipeline.expected).toEqual({ epoch: 'E', offset: 42 });
  });

  it('a resync moves to the new epoch; late frames of the old epoch are dropped quietly; a foreign epoch asks', async () => {
    const h = harness({ epoch: 'E1', offset: 5 });
    h.pipeline.push({ kind: 'resync', epoch: 'E2', offset: 90 });
    h.pipeline.push(live('E1', 6));
    h.pipeline.push(live('E2', 91));
    await h.pipeline.settled();
    expect(h.resyncs).toEqual([{ channel: 'c', epoch: 'E2', offset: 90, previous: { epoch: 'E1', offset: 5 } }]);
    expect(h.handled).toEqual([91]);
    expect(h.gaps).toEqual([]);
    h.pipeline.push(live('E3', 1)); // an epoch we never resynced to: ask from our position
    await h.pipeline.settled();
    expect(h.gaps).toEqual([{ epoch: 'E2', offset: 91 }]);
    expect(h.handled).toEqual([91]);
  });

  it('stops: nothing queued runs afterwards', async () => {
    const h = harness({ epoch: 'E', offset: 0 });
    h.pipeline.stop();
    h.pipeline.push(live('E', 1));
    await h.pipeline.settled();
    expect(h.handled).toEqual([]);
  });
});
