import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayBus, TestBed, waitUntil, type TestClient } from '@tether/testing';
import { MemoryLogStore, type LogStore } from '@tether/server';

/**
 * Several nodes sharing one store, their batches carried by an in-process relay bus with fault
 * toggles (the Redis-backed relay is tested against real Redis elsewhere): every subscriber, on
 * any node, sees each offset once and in order, whatever the bus drops, delays or reorders.
 */
const beds: TestBed[] = [];
afterEach(async () => {
  for (const bed of beds.splice(0)) await bed.close();
});

async function cluster(
  count: number,
  store: LogStore,
  bus: RelayBus,
  options: { broadcastChunkSize?: number } = {},
): Promise<TestBed[]> {
  const jwtSecret = randomBytes(32).toString('base64url');
  const nodes: TestBed[] = [];
  for (let i = 0; i < count; i++) {
    const bed = new TestBed();
    beds.push(bed);
    await bed.start({ store, relay: bus.relay(), jwtSecret, ...options });
    nodes.push(bed);
  }
  return nodes;
}

const claims = { sub: 'u', channels: ['room:*'], publish: ['room:*'] };

async function subscribe(bed: TestBed, channel: string): Promise<TestClient> {
  const client = await bed.connect(claims);
  await client.sub(channel);
  return client;
}

describe('multi-node fan-out over a relay', () => {
  it('a publish on node A reaches subscribers on B and C, in order', async () => {
    const store = new MemoryLogStore();
    const [a, b, c] = await cluster(3, store, new RelayBus());
    const onB = await subscribe(b!, 'room:1');
    const onC = await subscribe(c!, 'room:1');
    for (let i = 0; i < 50; i++) await a!.server.server.publish({ channel: 'room:1', type: 't', data: i });
    for (const client of [onB, onC]) {
      await client.messages.waitForCount(50);
      expect(client.messages.offsets('room:1')).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
    }
  });

  it('concurrent publishers on every node make one gap-free sequence that every subscriber sees once, in order', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    bus.delay(3); // batches of other nodes arrive late, after local ones with higher offsets
    const nodes = await cluster(3, store, bus);
    const clients = await Promise.all(nodes.map((n) => subscribe(n, 'room:c')));
    const perNode = 100;
    await Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; i < perNode; i++) {
          await node.server.server.publish({ channel: 'room:c', type: 't', data: { n, i } });
        }
      }),
    );
    const total = perNode * nodes.length;
    for (const client of clients) {
      await client.messages.waitForCount(total, { timeoutMs: 10_000 });
      expect(client.messages.offsets('room:c')).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    }
  });

  it('the same with every room written in chunks of one socket per turn (gap fills queue behind chunked broadcasts)', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    bus.delay(3);
    const nodes = await cluster(3, store, bus, { broadcastChunkSize: 1 });
    const clients: TestClient[] = [];
    for (const node of nodes) for (let k = 0; k < 4; k++) clients.push(await subscribe(node, 'room:chunked'));
    const perNode = 60;
    await Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; i < perNode; i++) {
          await node.server.server.publish({ channel: 'room:chunked', type: 't', data: { n, i } });
        }
      }),
    );
    const total = perNode * nodes.length;
    for (const client of clients) {
      await client.messages.waitForCount(total, { timeoutMs: 10_000 });
      expect(client.messages.offsets('room:chunked')).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    }
  });

  it('a lost relay batch is read from the store when the next one shows the gap', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    const [a, b] = await cluster(2, store, bus);
    const onB = await subscribe(b!, 'room:g');
    await a!.server.server.publish({ channel: 'room:g', type: 't', data: 1 });
    await onB.messages.waitForCount(1);
    bus.drop(2);
    await a!.server.server.publish({ channel: 'room:g', type: 't', data: 2 });
    await a!.server.server.publish({ channel: 'room:g', type: 't', data: 3 });
    await a!.server.server.publish({ channel: 'room:g', type: 't', data: 4 });
    await onB.messages.waitForCount(4);
    expect(onB.messages.offsets('room:g')).toEqual([1, 2, 3, 4]);
  });

  it('batches released newest first are delivered in offset order', async () => {
    const store = new MemoryLogStore();
    const bus = new RelayBus();
    const [a, b] = await cluster(2, store, bus);
    const onB = await subscribe(b!, 'room:o');
    bus.hold();
    for (let i = 1; i <= 5; i++) await a!.server.server.publish({ channel: 'room:o', type: 't', data: i });
    bus.release();
    await onB.messages.waitForCount(5);
    await new Promise((r) => setTimeout(r, 50));
    expect(onB.messages.offsets('room:o')).toEqual([1, 2, 3, 4, 5]);
  });

  it('acks on node B clamp to what B sent, so redelivery state stays right across nodes', async () => {
    const store = new MemoryLogStore();
    const [a, b] = await cluster(2, store, new RelayBus());
    const onB = await subscribe(b!, 'room:ack');
    for (let i = 0; i < 10; i++) await a!.server.server.publish({ channel: 'room:ack', type: 't', data: i });
    await onB.messages.waitForCount(10);
    onB.ack({ 'room:ack': 10 });
    await waitUntil(() => (b!.server.server.stats().acked === 10 ? true : undefined), 2000, 'acked on B');
    expect(a!.server.server.stats()).toMatchObject({ published: 10 });
    expect(b!.server.server.stats()).toMatchObject({ published: 0, acked: 10 });
  });
});
