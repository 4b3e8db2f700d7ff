/**
 * A broadcast to a big room is written in slices, one per event-loop turn, each bounded by time
 * (`broadcastSliceMs`) and by count (`broadcastChunkSize`) (delivery/room-sender.ts). Real sockets; the server's writes are observed through Engine.IO's
 * `packetCreate` event of each server-side socket, and event-loop turns are counted by a
 * `setImmediate` ticker (no wall time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, isErrorReply, type TestClient, type TestServer } from '@tether/testing';

let server: TestServer;
const bed = new TestBed();
let ticking = false;
afterEach(async () => {
  ticking = false;
  await bed.close();
});

const channel = 'room:big';

/** Event-loop turns, counted by a ticker that runs once per check phase. */
function turnCounter(): { readonly turn: number } {
  const counter = { turn: 0 };
  ticking = true;
  const tick = (): void => {
    counter.turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return counter;
}

interface Written {
  socketId: string;
  turn: number;
  text: string;
}

/** Records every `msg` packet the server queues for each connected socket, with the turn. */
function recordWrites(counter: { readonly turn: number }, onWrite?: (w: Written) => void): Written[] {
  const writes: Written[] = [];
  for (const socket of server.server.io.sockets.sockets.values()) {
    socket.conn.on('packetCreate', (packet: { data?: unknown }) => {
      if (typeof packet.data !== 'string' || !packet.data.startsWith('2["msg"')) return;
      const written = { socketId: socket.id, turn: counter.turn, text: packet.data };
      writes.push(written);
      onWrite?.(written);
    });
  }
  return writes;
}

async function members(count: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) {
    const c = await bed.connect({ sub: `u${i}`, channels: ['room:*'] });
    expect(isErrorReply(await c.sub(channel))).toBe(false);
    clients.push(c);
  }
  return clients;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

describe('a broadcast to a big room', () => {
  it('writes at most broadcastChunkSize sockets per turn; every member gets every offset once, in order', async () => {
    server = await bed.start({ broadcastChunkSize: 4 });
    const clients = await members(30);
    const counter = turnCounter();
    const writes = recordWrites(counter);

    // Five batches in quick succession: the later ones queue behind the broadcast being written.
    const published: Promise<unknown>[] = [];
    for (let b = 0; b < 5; b++) {
      published.push(server.server.publishMany(range(1, 3).map((i) => ({ channel, type: 't', data: { b, i } }))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(published);
    for (const c of clients) {
      await c.messages.waitForCount(15, { channel });
      expect(c.messages.offsets(channel)).toEqual(range(1, 15));
    }

    const perTurn = new Map<number, number>();
    for (const w of writes) perTurn.set(w.turn, (perTurn.get(w.turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
    expect(perTurn.size).toBeGreaterThanOrEqual(Math.ceil(30 / 4));
    expect(server.server.stats().delivered.live).toBe(30 * 15);
  });

  it('bounds a slice by time: a generous slice writes the whole room in one turn', async () => {
    server = await bed.start({ broadcastSliceMs: 60_000 });
    const clients = await members(40);
    const counter = turnCounter();
    const writes = recordWrites(counter);
    await server.server.publish({ channel, type: 't', data: 1 });
    for (const c of clients) await c.messages.waitForCount(1, { channel });
    expect(writes).toHaveLength(40);
    expect(new Set(writes.map((w) => w.turn)).size).toBe(1);
  });

  it('bounds a slice by time: a slice of 1 µs is over after one socket, so each socket gets its own turn', async () => {
    server = await bed.start({ broadcastSliceMs: 0.001 });
    const clients = await members(40);
    const counter = turnCounter();
    const writes = recordWrites(counter);
    await server.server.publish({ channel, type: 't', data: 1 });
    for (const c of clients) await c.messages.waitForCount(1, { channel });
    expect(writes).toHaveLength(40);
    expect(new Set(writes.map((w) => w.turn)).size).toBe(40);
    expect(server.server.stats().delivered.live).toBe(40);
  });

  it('a socket that joins during the broadcast gets each offset once: from its resume, not again from the broadcast', async () => {
    server = await bed.start({ broadcastChunkSize: 2 });
    const clients = await members(30);
    const joiner = await bed.connect({ sub: 'joiner', channels: ['room:*'] });
    const first = await server.server.publish({ channel, type: 't', data: 0 });
    for (const c of clients) await c.messages.waitForCount(1, { channel });
    const since = { epoch: first.epoch, offset: 1 };

    const counter = turnCounter();
    // The last member to have joined is written last: it leaves and comes back meanwhile.
    const rejoiner = clients.at(-1)!;
    let started = false;
    const resubscribed: Promise<unknown>[] = [];
    const writes = recordWrites(counter, (w) => {
      if (started || !w.text.includes('"offset":2}')) return;
      started = true;
      // While the first chunks of offsets 2..3 are out: a new subscriber and a returning one,
      // both from offset 1, and one more batch that must not overtake the one being written.
      resubscribed.push(joiner.sub(channel, since));
      resubscribed.push(rejoiner.unsub(channel).then(() => rejoiner.sub(channel, since)));
      resubscribed.push(server.server.publish({ channel, type: 't', data: 3 }));
    });
    await server.server.publishMany([
      { channel, type: 't', data: 1 },
      { channel, type: 't', data: 2 },
    ]);
    await Promise.all(resubscribed);
    await server.server.publish({ channel, type: 't', data: 4 });

    for (const c of clients.slice(0, -1)) {
      await c.messages.waitForCount(5, { channel });
      expect(c.messages.offsets(channel)).toEqual(range(1, 5));
    }
    await joiner.messages.waitForCount(4, { channel });
    expect(joiner.messages.offsets(channel)).toEqual(range(2, 5));
    await rejoiner.messages.waitForCount(5, { channel });
    expect(rejoiner.messages.offsets(channel)).toEqual(range(1, 5));

    // The joiner really joined while offsets 2..3 were still being written to the room.
    const alone = new Set([joiner.socket.id, rejoiner.socket.id]);
    const broadcastTurns = writes.filter((w) => w.text.includes('"offset":2}') && !alone.has(w.socketId));
    const joinerTurn = writes.find((w) => w.socketId === joiner.socket.id)!.turn;
    expect(joinerTurn).toBeLessThan(Math.max(...broadcastTurns.map((w) => w.turn)));
  });

  it('skips members that disconnect during the broadcast and counts only what was written', async () => {
    server = await bed.start({ broadcastChunkSize: 3 });
    const clients = await members(24);
    const counter = turnCounter();
    const gone = clients.slice(-4);
    const goneIds = gone.map((c) => c.socket.id!);
    let cut = false;
    const writes = recordWrites(counter, () => {
      if (cut) return;
      cut = true;
      for (const id of goneIds) server.server.io.sockets.sockets.get(id)?.disconnect(true);
    });
    await server.server.publishMany(range(1, 2).map((i) => ({ channel, type: 't', data: i })));
    const stay = clients.slice(0, -4);
    for (const c of stay) {
      await c.messages.waitForCount(2, { channel });
      expect(c.messages.offsets(channel)).toEqual([1, 2]);
    }
    for (const c of gone) expect(c.messages.offsets(channel)).toEqual([]);
    expect(writes).toHaveLength(20);
    expect(server.server.stats().delivered.live).toBe(20 * 2);

    // The room goes on without them.
    await server.server.publish({ channel, type: 't', data: 3 });
    for (const c of stay) await c.messages.waitForCount(3, { channel });
  });
});
