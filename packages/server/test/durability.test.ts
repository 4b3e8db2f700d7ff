import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '@tether/testing';
import type { PollResponse } from '@tether/protocol';

let processes: ServerProcess[] = [];
let dataDir: string | undefined;

afterEach(async () => {
  for (const p of processes) await p.stop();
  processes = [];
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

interface Accepted {
  channel: string;
  id: string;
  offset: number;
}

async function publish(p: ServerProcess, channel: string, id: string, n: number): Promise<{ offset: number }> {
  const response = await fetch(`${p.url}/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${p.apiKey}` },
    body: JSON.stringify({ channel, type: 'tick', data: { n, pad: 'x'.repeat(100) }, id }),
  });
  if (response.status !== 200) throw new Error(`publish ${response.status}`);
  return (await response.json()) as { offset: number };
}

/** Everything retained in a channel, through the HTTP fallback, page by page. */
async function readAll(p: ServerProcess, token: string, channel: string): Promise<{ id: string; offset: number }[]> {
  const out: { id: string; offset: number }[] = [];
  let offset = 0;
  for (;;) {
    const response = await fetch(`${p.url}/v1/poll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ positions: { [channel]: { offset } } }),
    });
    const body = (await response.json()) as PollResponse;
    const answer = body.channels[channel];
    if (!answer || 'resync' in answer) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    out.push(...answer.messages.map((m) => ({ id: m.id, offset: m.offset })));
    if (answer.upTo === offset) return out;
    offset = answer.upTo;
  }
}

describe('durability on the SQLite store', () => {
  it('a server killed with SIGKILL mid-stream and restarted on the same file loses no accepted message', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tether-durability-'));
    const secrets = {
      jwtSecret: randomBytes(32).toString('base64url'),
      apiKey: `tk_${randomBytes(16).toString('hex')}`,
    };
    const first = await startServerProcess({ dataDir, secrets });
    processes.push(first);

    const channels = ['dur:a', 'dur:b', 'dur:c', 'dur:d'];
    const accepted: Accepted[] = [];
    let killed = false;
    // 16 concurrent publishers, each sending one request after another until the process dies.
    const publishers = Array.from({ length: 16 }, async (_, worker) => {
      for (let n = 0; !killed && n < 2000; n++) {
        const channel = channels[(worker + n) % channels.length]!;
        const id = `w${worker}-n${n}`;
        try {
          const { offset } = await publish(first, channel, id, n);
          accepted.push({ channel, id, offset });
        } catch {
          return; // refused or cut by the kill: not accepted, so no promise was made
        }
        if (accepted.length >= 1200 && !killed) {
          killed = true;
          first.kill('SIGKILL');
        }
      }
    });
    await Promise.all(publishers);
    expect(await first.exited).toBeNull(); // ended by the signal, not by a clean exit
    expect(accepted.length).toBeGreaterThanOrEqual(1200);

    const second = await startServerProcess({ dataDir, secrets });
    processes.push(second);
    const token = await second.token({ sub: 'auditor', channels: ['dur:*'] });
    for (const channel of channels) {
      const stored = await readAll(second, token, channel);
      // One gap-free log per channel ...
      expect(stored.map((m) => m.offset)).toEqual(Array.from({ length: stored.length }, (_, k) => k + 1));
      // ... holding every accepted message at the offset it was acknowledged with.
      const byId = new Map(stored.map((m) => [m.id, m.offset]));
      const mine = accepted.filter((a) => a.channel === channel);
      expect(mine.filter((a) => byId.get(a.id) !== a.offset)).toEqual([]);
    }
    // Idempotency keys survived too: a repeat returns the first offset.
    const sample = accepted[0]!;
    expect(await publish(second, sample.channel, sample.id, -1)).toMatchObject({ offset: sample.offset });
  });
});
