/**
 * The push fallback across restarts (SQLite file): a push that was due survives the restart and
 * goes out once from the next life; a push already sent is never sent again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestBed, WebhookReceiver, waitUntil } from '@tether/testing';
import { SqliteLogStore, newWebhookSecret } from '@tether/server';
import { pushKeyOf } from '../../src/store/push-types.js';

const secret = newWebhookSecret();
let dir = '';
let receiver: WebhookReceiver;
const beds: TestBed[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-push-'));
  receiver = await WebhookReceiver.start(secret);
});
afterEach(async () => {
  for (const bed of beds.splice(0)) await bed.close();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function life(path: string, jwtSecret: string): Promise<TestBed> {
  const bed = new TestBed();
  beds.push(bed);
  await bed.start({ store: `sqlite:${path}`, jwtSecret, push: { webhook: { url: receiver.url, secret } } });
  return bed;
}

describe('push across restarts', () => {
  it('a due push survives a restart and goes out once; later lives never push it again', async () => {
    const path = join(dir, 'tether.db');
    const jwtSecret = 'push-restart-secret-0123456789abcdef';
    const first = await life(path, jwtSecret);
    await first.connect('driver-1'); // live: the push waits for ackWithin; nobody acks
    const published = await first.server.server.publish({
      channel: 'user:driver-1',
      type: 'trip:requested',
      data: { tripId: 'T1' },
      id: 'offer-T1',
      push: { ackWithin: 1500 },
    });
    await waitUntil(() => (first.server.server.stats().push.candidates === 1 ? true : undefined), 3000, 'claimed');
    await first.close(); // before the deadline
    expect(receiver.deliveries).toEqual([]);

    const second = await life(path, jwtSecret);
    const [delivery] = await receiver.waitForCount(1, 8000);
    expect(delivery).toMatchObject({
      id: 'offer-T1',
      valid: true,
      body: { offset: published.offset, reason: 'unacked' },
    });
    await waitUntil(() => (second.server.server.stats().push.sent['webhook'] === 1 ? true : undefined), 3000, 'sent');
    await second.close();

    // The file says it all: nothing queued, and the (message, user) claimed for good.
    const store = new SqliteLogStore(path);
    try {
      expect(await store.push.takeDue(Number.MAX_SAFE_INTEGER, 10, Number.MAX_SAFE_INTEGER)).toEqual([]);
      const key = pushKeyOf('default/user:driver-1', published.epoch, published.offset, 'driver-1');
      const again = { key, tenant: 'default', sub: 'driver-1', channel: 'user:driver-1', epoch: published.epoch };
      const due = { ...again, offset: published.offset, reason: 'offline' as const, dueAt: 0, attempts: 0, done: [] };
      expect(await store.push.schedule(due, 60_000, Date.now())).toBe(false);
    } finally {
      await store.close();
    }
    // A third life sees the same: the sweeper's or the publisher's path cannot claim it again.
    const third = await life(path, jwtSecret);
    await third.connect('driver-1');
    expect(receiver.deliveries).toHaveLength(1);
    expect(third.server.server.stats().push.candidates).toBe(0);
  });

  it('an SQLite file written before push existed opens and gains the push tables', async () => {
    const path = join(dir, 'old.db');
    const { default: Database } = await import('better-sqlite3');
    const old = new Database(path);
    old.exec(
      'CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, epoch TEXT NOT NULL, head INTEGER NOT NULL, first INTEGER NOT NULL)',
    );
    old.pragma('user_version = 1');
    old.close();
    const store = new SqliteLogStore(path);
    try {
      await store.push.registerDevice({ tenant: 't', sub: 'u', deviceId: 'd', provider: 'fcm', token: 'x' }, 10, 1);
      expect(await store.push.devicesOf('t', 'u')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
