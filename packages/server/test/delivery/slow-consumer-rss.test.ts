/**
 * The slow-consumer limit against the CLI as a child process, so that its memory can be measured
 * alone: a reader that stops reading (but keeps answering pings) while 60 MB are published to its
 * channel is cut at `maxQueuedBytes` (4 MiB by default), the server's RSS stays within a bound
 * (docs/operations.md), and the same device, reading again, resumes with 0 lost and 0 twice.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, waitUntil, type ServerProcess } from '@tether/testing';
import { ErrorCode } from '@tether/protocol';
import { RawReader } from './raw-reader.js';

const MB = 1_000_000;
const COUNT = 1000;
const BIG = 'q'.repeat(60_000);
/**
 * RSS growth allowed while 60 MB are published at a reader that stops reading (docs/operations.md).
 * Measured on the 2-core dev box: ~87 MB with a reader that reads (the publishing itself), ~97 MB
 * with one cut at the default 4 MiB, ~198 MB with the limit off (`TETHER_MAX_QUEUED_BYTES` huge).
 */
const RSS_BOUND = 140 * MB;

let proc: ServerProcess;
const readers: RawReader[] = [];

beforeAll(async () => {
  proc = await startServerProcess();
}, 30_000);
afterAll(async () => {
  for (const reader of readers) reader.close();
  await proc?.stop();
});

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function publish(channel: string, data: unknown): Promise<void> {
  const response = await fetch(`${proc.url}/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${proc.apiKey}` },
    body: JSON.stringify({ channel, type: 'blob', data }),
  });
  expect(response.status).toBe(200);
}

async function reader(positions: Record<string, { epoch?: string; offset: number }>): Promise<RawReader> {
  const token = await proc.token({ sub: 'u1', channels: ['*'] });
  const r = await RawReader.connect({ url: proc.url, token, deviceId: 'dev-rss', positions });
  readers.push(r);
  return r;
}

describe('a reader that stops reading, against a server process', () => {
  it('is cut at the limit with slow_consumer; RSS stays bounded; reading again it resumes with 0 lost, 0 twice', async () => {
    const channel = 'firehose:1';
    // Warm up (JIT, SQLite cache, HTTP parser) on another channel, so the baseline is a working server.
    for (let i = 0; i < 40; i++) await publish('warmup:1', { i, blob: BIG });
    const slow = await reader({ [channel]: { offset: 0 } });
    slow.stopReading();
    const baseline = rssOf(proc.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(proc.pid))), 20);
    try {
      // Four publishers side by side, 60 MB in all.
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < COUNT) await publish(channel, { i: next++, blob: BIG });
        }),
      );
      await waitUntil(() => (proc.output().includes('slow consumer cut') ? true : undefined), 5000, 'the cut');
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssOf(proc.pid));
    expect(proc.output()).toContain(ErrorCode.SlowConsumer);
    expect(peak - baseline).toBeLessThan(RSS_BOUND);

    slow.startReading();
    await slow.closed;
    expect(slow.violations).toEqual([]);
    const first = slow.positions.get(channel) ?? { offset: 0 };
    expect(first.offset).toBeLessThan(COUNT);

    const again = await reader({ [channel]: first });
    await waitUntil(() => (again.positions.get(channel)?.offset === COUNT ? true : undefined), 20_000, 'the resume');
    expect(again.errors.map((e) => e.code)).toEqual([ErrorCode.SlowConsumer]);
    expect(again.violations).toEqual([]);
    const all = [...(slow.handled.get(channel) ?? []), ...again.handled.get(channel)!];
    expect(all).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  }, 90_000);
});
