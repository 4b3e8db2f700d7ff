/**
 * Typing, read receipts and unread counts through the SDK against a real server (docs/client.md,
 * "Typing", "Read receipts and unread counts"): typing reaches the others, is throttled and expires
 * (fake timers); a mark on one device reaches the user's other device (subscribed or not) and the
 * other members; tracked counts follow handled messages and reads; without a socket it goes over HTTP.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import {
  TetherClient,
  defaults,
  type ReadContext,
  type Subscription,
  type TypingContext,
  type UnreadContext,
} from '@tether/client';
import { Clients, Recorder, fast } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  vi.useRealTimers();
  await clients.closeAll();
  await bed.close();
});

const ROOM = 'room:a';

async function user(sub: string, extra: Record<string, unknown> = {}): Promise<TetherClient> {
  const token = await bed.server.token({ sub, channels: ['room:*'], publish: ['room:*'] });
  return clients.make({ url: bed.server.url, token, ...fast, ...extra });
}

async function live(client: TetherClient, channel = ROOM, recorder = new Recorder()): Promise<Subscription> {
  const sub = client.subscribe(channel, recorder.handler);
  await client.connect();
  await waitUntil(() => (sub.state === 'subscribed' ? true : undefined));
  return sub;
}

function events<T>(on: (listener: (context: T) => void) => unknown): T[] {
  const got: T[] = [];
  on((context) => got.push(context));
  return got;
}

describe('typing options', () => {
  it('default to 5 s expiry and 2 s throttle; a bad value throws a TypeError', () => {
    expect(defaults).toMatchObject({ typingExpiryMs: 5000, typingThrottleMs: 2000 });
    const base = { url: 'http://127.0.0.1:1', token: 'x' };
    expect(() => new TetherClient({ ...base, typingExpiryMs: 0 })).toThrow(TypeError);
    expect(() => new TetherClient({ ...base, typingThrottleMs: -1 })).toThrow(TypeError);
    expect(() => new TetherClient({ ...base, typingThrottleMs: Number.NaN })).toThrow(TypeError);
  });
});

describe('typing', () => {
  it('reaches the other members and expires after typingExpiryMs (fake timers); own devices and the sender see nothing', async () => {
    await bed.start();
    const alice = await user('alice');
    const alicePhone = await user('alice');
    const bob = await user('bob');
    const aliceSub = await live(alice);
    const phoneSub = await live(alicePhone);
    const bobSub = await live(bob);
    const started = events<TypingContext>((l) => bobSub.on('typing', l));
    const stopped = events<TypingContext>((l) => bobSub.on('typingStopped', l));
    const toAlice = events<TypingContext>((l) => aliceSub.on('typing', l));
    const toPhone = events<TypingContext>((l) => phoneSub.on('typing', l));

    // Only timers and the clock are fake: sockets keep working on real I/O.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const arrived = new Promise<void>((resolve) => bobSub.on('typing', () => resolve()));
    aliceSub.typing();
    await arrived;
    expect(started).toEqual([{ channel: ROOM, sub: 'alice' }]);
    expect(bobSub.typists()).toEqual(['alice']);

    vi.advanceTimersByTime(4999);
    expect(bobSub.typists()).toEqual(['alice']);
    expect(stopped).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(bobSub.typists()).toEqual([]);
    expect(stopped).toEqual([{ channel: ROOM, sub: 'alice' }]);
    vi.useRealTimers();

    expect(toAlice).toEqual([]);
    expect(toPhone).toEqual([]); // the server sent it (another socket of alice); the SDK leaves its own user out
    expect(phoneSub.typists()).toEqual([]);
  });

  it('sub.typing() sends at most one frame per typingThrottleMs', async () => {
    await bed.start();
    const alice = await user('alice');
    const bob = await bed.connect({ sub: 'bob', channels: ['room:*'] });
    expect(await bob.sub(ROOM)).toMatchObject({ channel: ROOM });
    const heard: unknown[] = [];
    bob.socket.on('typing', (notice) => heard.push(notice));
    const aliceSub = await live(alice);

    vi.useFakeTimers({ toFake: ['Date'] });
    for (let i = 0; i < 10; i++) aliceSub.typing();
    await waitUntil(() => (heard.length === 1 ? true : undefined));
    vi.advanceTimersByTime(1999);
    aliceSub.typing();
    vi.advanceTimersByTime(1);
    aliceSub.typing();
    aliceSub.typing();
    await waitUntil(() => (heard.length === 2 ? true : undefined));
    // A round trip on alice's socket (unread), then on bob's (probe): no other notice is on its way.
    await alice.unread([ROOM]);
    await new Promise((resolve) => bob.socket.emit('probe', { ts: 0 }, resolve));
    expect(heard).toEqual([
      { channel: ROOM, sub: 'alice' },
      { channel: ROOM, sub: 'alice' },
    ]);
  });
});

describe('read receipts and unread counts', () => {
  it('a mark on one device reaches the other device (not subscribed) and the members; tracked counts follow', async () => {
    await bed.start();
    const laptop = await user('alice');
    const phone = await user('alice');
    const bob = await user('bob');
    const handled = new Recorder();
    const laptopSub = await live(laptop, ROOM, handled);
    const bobSub = await live(bob);
    await phone.connect();
    const seenByBob = events<ReadContext>((l) => bobSub.on('read', l));
    const phoneReads = events<ReadContext>((l) => phone.on('read', l));
    const laptopReads = events<ReadContext>((l) => laptop.on('read', l));
    const laptopCounts = events<UnreadContext>((l) => laptop.on('unread', l));

    for (let i = 1; i <= 3; i++) await bed.server.server.publish({ channel: ROOM, type: 'chat', data: { i } });
    await waitUntil(() => (handled.handled.length === 3 ? true : undefined));
    expect(await laptop.unread([ROOM])).toEqual({ [ROOM]: { head: 3, read: 0, unread: 3 } });

    // Default: up to the last handled message.
    expect(await laptopSub.markRead()).toBe(3);
    expect(laptopSub.readPosition).toBe(3);
    await waitUntil(() => (phoneReads.length === 1 && seenByBob.length === 1 ? true : undefined));
    expect(phoneReads).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);
    expect(seenByBob).toEqual([{ channel: ROOM, sub: 'alice', offset: 3 }]);
    expect(laptopReads).toEqual([]); // the sender's own socket is left out; its reply said it
    expect(await phone.unread([ROOM])).toEqual({ [ROOM]: { head: 3, read: 3, unread: 0 } });

    // Two more messages: the laptop's tracked count goes up as they are handled.
    for (let i = 4; i <= 5; i++) await bed.server.server.publish({ channel: ROOM, type: 'chat', data: { i } });
    await waitUntil(() => (laptop.unreadCounts()[ROOM]?.unread === 2 ? true : undefined));

    // The phone reads them (not subscribed to ROOM): the laptop's badge clears.
    expect(await phone.markRead(ROOM, 5)).toBe(5);
    await waitUntil(() => (laptopReads.length === 1 ? true : undefined));
    expect(laptopReads).toEqual([{ channel: ROOM, sub: 'alice', offset: 5 }]);
    expect(laptop.unreadCounts()).toEqual({ [ROOM]: { head: 5, read: 5, unread: 0 } });
    expect(laptopSub.readPosition).toBe(5);
    // 3 unread, 0 after the mark, up to 2 as messages are handled (one event per step), 0 again.
    const told = laptopCounts.map((c) => c.unread);
    expect(told.slice(0, 2)).toEqual([3, 0]);
    expect(told.slice(-2)).toEqual([2, 0]);
    await waitUntil(() => (seenByBob.length === 2 ? true : undefined));

    // Never back: a lower offset resolves the position and sends nothing.
    expect(await laptopSub.markRead(2)).toBe(5);
    expect(await laptop.unread([ROOM])).toEqual({ [ROOM]: { head: 5, read: 5, unread: 0 } });
    expect(seenByBob).toHaveLength(2);
  });

  it('refusals reject with the server’s code; a client without a socket marks and counts over HTTP', async () => {
    await bed.start();
    for (let i = 1; i <= 4; i++) await bed.server.server.publish({ channel: ROOM, type: 'chat', data: { i } });
    const offline = await user('carol'); // never connected: HTTP only
    expect(await offline.markRead(ROOM, 2)).toBe(2);
    expect(await offline.unread()).toEqual({ [ROOM]: { head: 4, read: 2, unread: 2 } });
    await expect(offline.markRead('secret:1', 1)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(offline.unread(['secret:1'])).rejects.toMatchObject({ code: 'forbidden' });
    await expect(offline.markRead(ROOM, 0)).rejects.toMatchObject({ code: 'bad_request' });

    const online = await user('carol');
    await online.connect();
    await expect(online.markRead('secret:1', 1)).rejects.toMatchObject({ code: 'forbidden' });
    expect(await online.markRead(ROOM, 99)).toBe(4); // capped at the head
  });
});
