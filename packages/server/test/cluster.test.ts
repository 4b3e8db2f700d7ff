/**
 * A real cluster: 3 `tether serve --store redis://…` processes (the built CLI) sharing one private
 * redis-server, clients on plain socket.io-client (websocket only), some through a round-robin TCP
 * proxy in front of the 3 nodes (no sticky sessions). Node death, Redis restarts with and without
 * persistence, and publishes while Redis is down. Needs `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  connectClient,
  startRedis,
  startRoundRobinProxy,
  startServerProcess,
  waitUntil,
  type RedisServer,
  type RoundRobinProxy,
  type ServerProcess,
} from '@tether/testing';
import { UNWRITTEN_EPOCH } from '@tether/protocol';
import { Follower, poll, publish, range, readAll, sleep, status, type Handled } from './cluster-helpers.js';

const HEAD_CHECK_MS = '200';
const claims = { sub: 'watcher', channels: ['c:*'], publish: ['c:*'] };

interface Cluster {
  redis: RedisServer;
  nodes: ServerProcess[];
  proxy: RoundRobinProxy;
  token: string;
  followers: Follower[];
  follow(channel: string, url: () => string, reconnect?: boolean): Promise<Follower>;
  close(): Promise<void>;
}

async function startCluster(appendonly: boolean): Promise<Cluster> {
  const redis = await startRedis({ appendonly });
  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), apiKey: `tk_${randomBytes(16).toString('hex')}` };
  const nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startServerProcess({
        store: redis.url,
        secrets,
        env: { TETHER_LOG_LEVEL: 'warn', TETHER_HEAD_CHECK_MS: HEAD_CHECK_MS },
      }),
    ),
  );
  const proxy = await startRoundRobinProxy({ targets: nodes.map((n) => n.port) });
  const token = await nodes[0]!.token(claims);
  const followers: Follower[] = [];
  return {
    redis,
    nodes,
    proxy,
    token,
    followers,
    async follow(channel, url, reconnect = true) {
      const follower = new Follower({ channel, token, url, reconnect });
      followers.push(follower);
      await follower.start();
      return follower;
    },
    async close() {
      for (const f of followers) f.close();
      await proxy.close();
      await Promise.all(nodes.map((n) => n.stop(3000)));
      await redis.stop();
    },
  };
}

/** Every follower handled exactly `expected` in the epoch, once each, in order, with nothing odd. */
function expectComplete(followers: Follower[], expected: Handled[], epoch?: string): void {
  for (const f of followers) {
    expect(f.violations).toEqual([]);
    expect(f.handled.get(epoch ?? f.position.epoch!) ?? []).toEqual(expected);
  }
}

/** Publishes `count` messages on `node` one after another; returns what was accepted. */
async function stream(
  node: ServerProcess,
  channel: string,
  prefix: string,
  count: number,
  pauseMs = 0,
  stop?: () => boolean,
): Promise<Handled[]> {
  const accepted: Handled[] = [];
  for (let i = 0; i < count && !stop?.(); i++) {
    const id = `${prefix}-${i}`;
    try {
      const answer = await publish(node, channel, id, { i });
      if (answer.status === 200 && answer.body.offset !== undefined) accepted.push({ offset: answer.body.offset, id });
    } catch {
      // The node died under the request: not accepted, no promise made.
    }
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return accepted;
}

const byOffset = (a: Handled, b: Handled): number => a.offset - b.offset;

describe('cluster of 3 processes on one Redis (AOF)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster(true);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
  });
  afterEach(async () => {
    for (const f of c.followers.splice(0)) f.close();
    await c.proxy.waitForConnections(0);
  });

  it('a publish on node A reaches subscribers on B and C, in order', async () => {
    const [a, b, cc] = c.nodes;
    const onB = await c.follow('c:1', () => b!.url, false);
    const onC = await c.follow('c:1', () => cc!.url, false);
    const accepted = await stream(a!, 'c:1', 'one', 50);
    expect(accepted.map((m) => m.offset)).toEqual(range(50));
    await Promise.all([onB.reach(50), onC.reach(50)]);
    expectComplete([onB, onC], accepted);
    // Carried live by the cluster, not found later by a replay.
    for (const f of [onB, onC]) expect({ live: f.live, duplicates: f.duplicates }).toEqual({ live: 50, duplicates: 0 });
  });

  it('concurrent publishers on A, B and C make one gap-free offset sequence, the same on every node', async () => {
    const channel = 'c:concurrent';
    const followers = await Promise.all(c.nodes.map((n) => c.follow(channel, () => n.url, false)));
    const perNode = 120;
    // 4 concurrent publishers per node.
    const lanes = await Promise.all(
      c.nodes.flatMap((node, n) => [0, 1, 2, 3].map((lane) => stream(node, channel, `n${n}-l${lane}`, perNode / 4))),
    );
    const accepted = lanes.flat().sort(byOffset);
    const total = perNode * c.nodes.length;
    expect(accepted.map((m) => m.offset)).toEqual(range(total));
    // The log, read back on every node: every offset once, each id at its acknowledged offset.
    const logs = await Promise.all(c.nodes.map((n) => readAll(n.url, c.token, channel)));
    for (const { log } of logs) expect(log).toEqual(accepted);
    expect(new Set(logs.map((l) => l.epoch)).size).toBe(1);
    await Promise.all(followers.map((f) => f.reach(total)));
    expectComplete(followers, accepted);
    for (const f of followers) expect(f.duplicates).toBe(0);
  });

  it('a websocket-only client needs no sticky session: through the round-robin proxy it moves between nodes and loses nothing', async () => {
    const channel = 'c:roam';
    const [a] = c.nodes;
    const roamer = await c.follow(channel, () => c.proxy.url);
    /** The node the roamer is connected to: the only proxied connection. */
    const landed = (): number => c.proxy.activePerTarget().findIndex((n) => n > 0);
    const visited = [landed()];
    expect(visited[0]).toBeGreaterThanOrEqual(0);
    let done = false;
    const publishing = stream(a!, channel, 'roam', 240, 5, () => done);
    for (let hop = 0; hop < 3; hop++) {
      await roamer.reach(60 * (hop + 1), 10_000);
      const connects = roamer.connects;
      c.proxy.cutTarget(visited.at(-1)!);
      await waitUntil(() => (roamer.connects > connects && roamer.connected ? true : undefined), 5000, 'reconnect');
      visited.push(landed());
    }
    const accepted = await publishing;
    done = true;
    expect(accepted.length).toBe(240);
    await roamer.reach(accepted.at(-1)!.offset);
    expectComplete([roamer], accepted);
    expect(roamer.duplicates).toBe(0);
    expect(roamer.disconnects).toBe(3);
    // Each reconnect landed on a node other than the one it left.
    for (let i = 1; i < visited.length; i++) expect(visited[i]).not.toBe(visited[i - 1]);
    expect(new Set(visited).size).toBeGreaterThanOrEqual(2);

    // POST /v1/poll answers the same on every node, from any position.
    for (const offset of [0, 100, 239]) {
      const answers = await Promise.all(c.nodes.map((n) => poll(n.url, c.token, { [channel]: { offset } })));
      for (const answer of answers) expect(answer.channels[channel]).toEqual(answers[0]!.channels[channel]);
      const first = answers[0]!.channels[channel];
      expect(first && 'messages' in first ? first.messages.map((m) => m.offset) : []).toEqual(
        range(240 - offset, offset + 1),
      );
    }
  });

  it('a long-poll on one node is answered when another node publishes', async () => {
    const channel = 'c:longpoll';
    const [a, , cc] = c.nodes;
    await publish(a!, channel, 'lp-0', 0);
    // Where "now" is, for the channel and the inbox (always in the answer), as the SDK's first poll.
    const now = await poll(cc!.url, c.token, { [channel]: { offset: 0 } });
    const positions: Record<string, { epoch: string; offset: number }> = {};
    for (const [name, answer] of Object.entries(now.channels)) {
      if (!('messages' in answer)) throw new Error(`unexpected ${JSON.stringify(answer)}`);
      positions[name] = { epoch: answer.epoch, offset: answer.upTo };
    }
    expect(positions[channel]?.offset).toBe(1);
    const started = Date.now();
    const waiting = poll(cc!.url, c.token, positions, 10);
    await sleep(300);
    await publish(a!, channel, 'lp-1', 1);
    const answer = (await waiting).channels[channel];
    expect(answer && 'messages' in answer ? answer.messages.map((m) => m.id) : answer).toEqual(['lp-1']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('Redis down: publishes are refused with 503 store_unavailable and /readyz is 503; after a restart with AOF nothing accepted is lost', async () => {
    const channel = 'c:redis-aof';
    const [a, b, cc] = c.nodes;
    const followers = await Promise.all(c.nodes.map((n) => c.follow(channel, () => n.url)));
    const publisher = await connectClient(cc!.url, c.token);
    onTestFinished(() => publisher.close());
    let phase: 'before' | 'down' | 'after' = 'before';
    const attempts: { status: number; code?: string | undefined }[] = [];
    // Publishers on A and B keep going through the outage, until 30 more were accepted after it.
    const lane = async (node: ServerProcess, prefix: string): Promise<Handled[]> => {
      const accepted: Handled[] = [];
      let afterwards = 0;
      for (let i = 0; i < 1000 && afterwards < 30; i++) {
        const id = `${prefix}-${i}`;
        const answer = await publish(node, channel, id, { i }).catch(() => undefined);
        if (answer?.status === 200 && answer.body.offset !== undefined) {
          accepted.push({ offset: answer.body.offset, id });
          if (phase === 'after') afterwards++;
        } else if (answer) attempts.push({ status: answer.status, code: answer.body.error?.code });
        await sleep(5);
      }
      return accepted;
    };
    const lanes = Promise.all([lane(a!, 'aof-a'), lane(b!, 'aof-b')]);
    await waitUntil(() => (followers.every((f) => f.position.offset >= 40) ? true : undefined), 10_000, '40 sent');
    phase = 'down';
    await c.redis.kill();
    // While down: a publish is refused with the documented code, on every node, and no node is ready.
    for (const node of c.nodes) {
      const refused = await publish(node, channel, `down-${node.port}`, 'x');
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'store_unavailable' } } });
    }
    // The same over the socket: the `pub` reply is the error, not an offset.
    expect(await publisher.pub({ channel, type: 'tick', data: 'x', id: 'down-socket' })).toMatchObject({
      error: { code: 'store_unavailable' },
    });
    await waitUntil(
      async () =>
        (await Promise.all(c.nodes.map((n) => status(n.url, '/readyz')))).every((s) => s === 503) ? true : undefined,
      5000,
      'every node unready',
    );
    expect(await status(cc!.url, '/healthz')).toBe(200);
    await sleep(300);
    await c.redis.restart();
    phase = 'after';
    await waitUntil(
      async () =>
        (await Promise.all(c.nodes.map((n) => status(n.url, '/readyz')))).every((s) => s === 200) ? true : undefined,
      10_000,
      'every node ready again',
    );
    const accepted = (await lanes).flat().sort(byOffset);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((x) => x.status === 503 && x.code === 'store_unavailable')).toBe(true);
    // Every accepted publish is in the log at the offset it was acknowledged with, and nothing else.
    const { log } = await readAll(cc!.url, c.token, channel);
    expect(log.map((m) => m.offset)).toEqual(range(log.length));
    const loggedIds = new Set(log.map((m) => m.id));
    expect(accepted.filter((m) => !loggedIds.has(m.id))).toEqual([]);
    const byId = new Map(log.map((m) => [m.id, m.offset]));
    expect(accepted.filter((m) => byId.get(m.id) !== m.offset)).toEqual([]);
    // A refused publish may still have been applied (its reply lost): a retry with its id is safe.
    expect(log.length).toBeGreaterThanOrEqual(accepted.length);
    // Clients (connected throughout) have the whole log, once each, in order, in the same epoch.
    await Promise.all(followers.map((f) => f.reach(log.length, 10_000)));
    expectComplete(followers, log);
    for (const f of followers) expect(f.resyncs).toEqual([]);
    // A client that reconnects now resumes from its position.
    const late = followers[0]!;
    late.drop();
    const more = await stream(a!, channel, 'after', 10);
    await late.reach(more.at(-1)!.offset);
    expectComplete([late], [...log, ...more]);
  });

  it('SIGKILL of node B mid-stream: its clients reconnect (through the proxy) to A or C and resume, 0 lost, 0 duplicated', async () => {
    const channel = 'c:kill';
    const [a, b] = c.nodes;
    const followers: Follower[] = [];
    for (let i = 0; i < 9; i++) followers.push(await c.follow(channel, () => c.proxy.url));
    const onB = c.proxy.activePerTarget()[1]!;
    expect(onB).toBeGreaterThanOrEqual(3);
    let bDead = false;
    // Publishers on A and on B: B's accepted publishes must survive it too.
    const fromA = stream(a!, channel, 'kill-a', 300, 5);
    const fromB = stream(b!, channel, 'kill-b', 300, 5, () => bDead);
    await waitUntil(() => (followers.every((f) => f.position.offset >= 100) ? true : undefined), 10_000, '100 each');
    b!.kill('SIGKILL');
    bDead = true;
    expect(await b!.exited).toBeNull();
    const [acceptedA, acceptedB] = await Promise.all([fromA, fromB]);
    expect(acceptedB.length).toBeGreaterThan(0);
    const accepted = [...acceptedA, ...acceptedB].sort(byOffset);
    const { log } = await readAll(a!.url, c.token, channel);
    expect(log.map((m) => m.offset)).toEqual(range(log.length));
    const byId = new Map(log.map((m) => [m.id, m.offset]));
    expect(accepted.filter((m) => byId.get(m.id) !== m.offset)).toEqual([]);
    await Promise.all(followers.map((f) => f.reach(log.length, 15_000)));
    expectComplete(followers, log);
    for (const f of followers) expect(f.duplicates).toBe(0);
    // B's clients (and only they) were cut, and all came back, to A or C.
    expect(followers.filter((f) => f.disconnects > 0).length).toBe(onB);
    expect(followers.every((f) => f.connected)).toBe(true);
    expect(c.proxy.activePerTarget()[1]).toBe(0);
  });
});

describe('cluster on a Redis without persistence', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster(false);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
  });
  afterEach(async () => {
    for (const f of c.followers.splice(0)) f.close();
    await c.proxy.waitForConnections(0);
  });

  it('a Redis restarted empty makes every client resync explicitly, never a silent gap', async () => {
    const channel = 'c:volatile';
    const [a, b] = c.nodes;
    const connected = await Promise.all(c.nodes.map((n) => c.follow(channel, () => n.url)));
    const away = await c.follow(channel, () => b!.url, false);
    const before = await stream(a!, channel, 'old', 30);
    await Promise.all([...connected, away].map((f) => f.reach(30)));
    const oldEpoch = connected[0]!.position.epoch!;
    away.close();

    await c.redis.kill();
    await c.redis.restart();
    // Nothing published: the head/epoch check alone tells every connected client.
    await waitUntil(() => (connected.every((f) => f.resyncs.length > 0) ? true : undefined), 10_000, 'resyncs');
    // The log is gone: the channel reads as unwritten (offset 0), until the next append starts a life.
    for (const f of connected) {
      expect(f.resyncs).toEqual([{ channel, epoch: UNWRITTEN_EPOCH, offset: 0 }]);
    }
    const after = await stream(a!, channel, 'new', 20);
    expect(after.map((m) => m.offset)).toEqual(range(20));
    await Promise.all(connected.map((f) => f.reach(20)));
    const newEpoch = connected[0]!.position.epoch!;
    expect([oldEpoch, UNWRITTEN_EPOCH]).not.toContain(newEpoch);
    for (const f of connected) {
      // From offset 0 the new life is adopted silently: one resync in all.
      expect(f.resyncs).toHaveLength(1);
      expect(f.position.epoch).toBe(newEpoch);
      expect(f.violations).toEqual([]);
      expect(f.handled.get(oldEpoch)).toEqual(before);
      expect(f.handled.get(newEpoch)).toEqual(after);
    }
    // A client that was away comes back with its old position: an explicit resync, never a replay
    // of another epoch.
    const back = new Follower({ channel, token: c.token, url: () => c.nodes[2]!.url });
    c.followers.push(back);
    back.position = { ...away.position };
    await back.start();
    await waitUntil(() => (back.resyncs.length > 0 ? true : undefined), 5000, 'resync of the returning client');
    // Told where the new log stands (its app reloads state), and live from there.
    expect(back.resyncs).toEqual([{ channel, epoch: newEpoch, offset: 20 }]);
    const last = await stream(a!, channel, 'last', 5);
    await Promise.all([...connected, back].map((f) => f.reach(25, 10_000, newEpoch)));
    expect(back.violations).toEqual([]);
    expect(back.handled.get(newEpoch)).toEqual(last);
    for (const f of connected) expect(f.handled.get(newEpoch)).toEqual([...after, ...last]);
  });
});
