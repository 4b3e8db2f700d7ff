/**
 * The Publisher flushes once per event-loop turn for every channel: the appends of one turn reach
 * the store in one synchronous run (so the SQLite store commits them in one transaction and the
 * Redis client sends them in one pipeline), each channel still in offset order, one flush per
 * channel at a time. And the publish door: a server-generated id asks the store for no idempotency key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, isErrorReply } from '@tether/testing';
import { MemoryLogStore } from '../../src/store/memory-store.js';
import type { AppendInput, AppendResult } from '../../src/store/types.js';

/**
 * A real memory store that notes which appends were called in the same synchronous run (its
 * `append` goes through `appendNow`, which the publisher calls directly: both are seen).
 */
class RunRecordingStore extends MemoryLogStore {
  /** Per synchronous run that appended: the streams, in call order. */
  readonly runs: string[][] = [];
  readonly inputs: AppendInput[] = [];
  private current: string[] | undefined;

  override appendNow(stream: string, inputs: readonly AppendInput[]): AppendResult[] {
    if (this.current === undefined) {
      const run: string[] = [];
      this.current = run;
      this.runs.push(run);
      queueMicrotask(() => (this.current = undefined));
    }
    this.current.push(stream);
    this.inputs.push(...inputs);
    return super.appendNow(stream, inputs);
  }
}

const bed = new TestBed();
afterEach(() => bed.close());

describe('Publisher: one flush per turn across channels', () => {
  it('appends the publishes of one turn to every channel in one synchronous run', async () => {
    const store = new RunRecordingStore();
    const server = await bed.start({ store });
    const client = await bed.connect({ sub: 'u', channels: ['room:*'] });
    for (const channel of ['room:0', 'room:7', 'room:29']) expect(isErrorReply(await client.sub(channel))).toBe(false);
    const before = store.runs.length;

    const channels = Array.from({ length: 30 }, (_, i) => `room:${i}`);
    const inputs = channels.flatMap((channel) => [1, 2].map((n) => ({ channel, type: 't', data: n })));
    const results = await server.server.publishMany(inputs);

    const runs = store.runs.slice(before);
    expect(runs).toHaveLength(1);
    expect([...(runs[0] ?? [])].sort()).toEqual(channels.map((channel) => `default/${channel}`).sort());
    expect(results.map((r) => r.offset)).toEqual(channels.flatMap(() => [1, 2]));
    for (const channel of ['room:0', 'room:7', 'room:29']) {
      await client.messages.waitForCount(2, { channel });
      expect(client.messages.offsets(channel)).toEqual([1, 2]);
    }
  });

  it('keeps one flush per channel at a time: a batch over the bound waits for the next turn, in order', async () => {
    const store = new RunRecordingStore();
    const server = await bed.start({ store });
    const before = store.runs.length;
    const inputs = Array.from({ length: 1500 }, (_, i) => ({ channel: 'room:big', type: 't', data: i }));
    const results = await server.server.publishMany(inputs);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    // 1,000 inputs at most per call; the rest in a later run, after the first call settled.
    expect(store.runs.slice(before)).toEqual([['default/room:big'], ['default/room:big']]);
    expect(store.inputs.slice(-1500).map((input) => input.data)).toEqual(inputs.map((input) => input.data));
  });

  it('asks for no idempotency key for a server-generated id, and keeps a publisher-given id a key', async () => {
    const store = new RunRecordingStore();
    const server = await bed.start({ store });
    const generated = await server.server.publish({ channel: 'room:ids', type: 't', data: 1 });
    const given = await server.server.publish({ channel: 'room:ids', type: 't', data: 2, id: 'mine' });
    const repeat = await server.server.publish({ channel: 'room:ids', type: 't', data: 3, id: 'mine' });
    expect([generated, given, repeat].map((r) => [r.offset, r.duplicate])).toEqual([
      [1, false],
      [2, false],
      [2, true],
    ]);
    const flags = store.inputs.slice(-3).map((input) => input.idempotent);
    expect(flags).toEqual([false, undefined, undefined]);
  });
});
