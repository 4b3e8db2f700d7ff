/**
 * `stats().acked` across a restart on a durable store: each (message, device) is counted once.
 * Devices that resume from their position and repeat their last ack (as an SDK does after a
 * reconnect) add nothing on the restarted server; only what they ack beyond it counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, startServer, waitUntil, type TestClient, type TestServer } from '@tether/testing';

const CHANNEL = 'feed:1';
const DEVICES = ['phone', 'tablet', 'laptop'];
const jwtSecret = randomBytes(32).toString('base64url');

const open: { clients: TestClient[]; servers: TestServer[]; dirs: string[] } = { clients: [], servers: [], dirs: [] };

afterEach(async () => {
  for (const c of open.clients.splice(0)) c.close();
  for (const s of open.servers.splice(0)) await s.close();
  for (const d of open.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(store: string): Promise<TestServer> {
  const server = await startServer({ store, jwtSecret });
  open.servers.push(server);
  return server;
}

async function publish(server: TestServer, count: number): Promise<void> {
  await server.server.publishMany(
    Array.from({ length: count }, (_, i) => ({ channel: CHANNEL, type: 'note', data: { i } })),
  );
}

describe('acked across a restart (SQLite store)', () => {
  it('counts each (message, device) once: repeated acks after the restart add nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tether-stats-'));
    open.dirs.push(dir);
    const store = `sqlite:${path.join(dir, 'tether.db')}`;

    // Before: three devices of one user read 13 messages live and ack them all (twice: a repeat counts nothing).
    const first = await start(store);
    const token = await first.token({ sub: 'u1', channels: [CHANNEL] });
    const before = await Promise.all(DEVICES.map((deviceId) => connectClient(first.url, token, { deviceId })));
    open.clients.push(...before);
    for (const c of before) expect(await c.sub(CHANNEL)).toMatchObject({ offset: 0 });
    await publish(first, 13);
    for (const c of before) await c.messages.waitForCount(13, { channel: CHANNEL });
    for (const c of before) c.ack({ [CHANNEL]: 13 });
    for (const c of before) c.ack({ [CHANNEL]: 13 });
    await waitUntil(() => first.server.stats().acked === 39);
    const epoch = before[0]!.messages.frames[0]!.epoch;
    for (const c of open.clients.splice(0)) c.close();
    await first.close();

    // After: the same devices resume at 13, repeat their last ack, then read and ack 2 more.
    const second = await start(store);
    const after = await Promise.all(
      DEVICES.map((deviceId) =>
        connectClient(second.url, token, { deviceId, positions: { [CHANNEL]: { epoch, offset: 13 } } }),
      ),
    );
    open.clients.push(...after);
    // A ping-pong (sub of the live channel answers its position) says each resume has happened.
    for (const c of after) expect(await c.sub(CHANNEL)).toMatchObject({ epoch, offset: 13 });
    for (const c of after) c.ack({ [CHANNEL]: 13 });
    await publish(second, 2);
    for (const c of after) {
      const got = await c.messages.waitForCount(2, { channel: CHANNEL });
      expect(got.map((m) => m.offset)).toEqual([14, 15]);
    }
    for (const c of after) c.ack({ [CHANNEL]: 15 });
    await waitUntil(() => second.server.stats().acked >= 6);
    // A last round trip on every socket: its earlier acks have been handled.
    for (const c of after) await c.sub(CHANNEL);
    const stats = second.server.stats();
    expect(stats.published).toBe(2);
    expect(stats.acked).toBe(6); // 2 new messages × 3 devices; the 13 × 3 before the restart are not counted again
  });

  it('a device that was never seen before the restart counts what it acks from its resume position on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tether-stats-'));
    open.dirs.push(dir);
    const store = `sqlite:${path.join(dir, 'tether.db')}`;
    const first = await start(store);
    await publish(first, 5);
    const { epoch } = await first.server.publish({ channel: CHANNEL, type: 'note', data: {} }); // offset 6
    await first.close();

    const second = await start(store);
    const token = await second.token({ sub: 'u2', channels: [CHANNEL] });
    // Resumes from 2: it is sent 3..6, and its ack of 6 covers 4 offsets that are new for it.
    const c = await connectClient(second.url, token, {
      deviceId: 'new',
      positions: { [CHANNEL]: { epoch, offset: 2 } },
    });
    open.clients.push(c);
    await c.messages.waitForCount(4, { channel: CHANNEL });
    c.ack({ [CHANNEL]: 6 });
    await waitUntil(() => second.server.stats().acked === 4);
    await c.sub(CHANNEL);
    expect(second.server.stats().acked).toBe(4);
  });
});
