/**
 * `lastSeen` is durable: kept in the log store's engine (`LogStore.readState`), it survives a
 * restart of the server on the same SQLite file, and the presence read answers it for a user who
 * is offline by then. (An injected clock makes the times exact.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserPresenceResponse } from '@tether/protocol';
import { startServer, waitUntil, type TestServer } from '@tether/testing';
import { presenceClient } from './presence-helpers.js';

const dirs: string[] = [];
let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function lastSeenOf(server: TestServer, sub: string): Promise<UserPresenceResponse> {
  const res = await fetch(`${server.url}/v1/presence/users/${sub}`, {
    headers: { authorization: `Bearer ${server.apiKey}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as UserPresenceResponse;
}

describe('lastSeen across a restart', () => {
  it('survives the server restarting on the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-last-seen-'));
    dirs.push(dir);
    const store = `sqlite:${join(dir, 'tether.db')}`;
    let clock = 1_700_000_000_000;
    const presence = { channels: [{ pattern: 'room:*' }], graceMs: 50, lastActiveThrottleMs: 1000 };
    srv = await startServer({ store, now: () => clock, presence });
    const zoe = await presenceClient(srv, { sub: 'zoe', channels: ['room:*'] });
    clock += 5000;
    expect(await zoe.status({ active: true })).toEqual({ status: 'online' });
    const first = srv;
    await waitUntil(async () => ((await lastSeenOf(first, 'zoe')).lastSeen === clock ? true : undefined));
    const seenAt = clock;
    zoe.close();
    await srv.close();

    clock += 3_600_000; // an hour later, a new process on the same file
    srv = await startServer({ store, now: () => clock, presence });
    const read = await lastSeenOf(srv, 'zoe');
    expect(read).toEqual({ sub: 'zoe', status: 'offline', devices: [], lastSeen: seenAt });
  });
});
