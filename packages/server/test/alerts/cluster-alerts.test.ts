/**
 * Node down / up across a real cluster: 3 `tether serve` processes (the built CLI, stable node ids
 * via TETHER_NODE_ID, a 200 ms heartbeat) on one private redis-server, alerts to one Standard
 * Webhooks receiver from the config file. SIGKILL one node: every survivor sees it go, exactly one
 * "node down" arrives; restart it: exactly one "node up"; a second flap inside the cooldown sends
 * nothing. Needs `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WebhookReceiver,
  startRedis,
  startServerProcess,
  waitUntil,
  type RedisServer,
  type ServerProcess,
} from '@tether/testing';
import { newWebhookSecret } from '@tether/server';

const HEARTBEAT_MS = 200;
const secret = newWebhookSecret();
const secrets = { jwtSecret: randomBytes(32).toString('base64url'), apiKey: `tk_${randomBytes(16).toString('hex')}` };

let redis: RedisServer;
let receiver: WebhookReceiver;
const nodes = new Map<string, ServerProcess>();

function startNode(nodeId: string): Promise<ServerProcess> {
  return startServerProcess({
    store: redis.url,
    secrets,
    env: { TETHER_NODE_ID: nodeId, TETHER_CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS) },
    config: { alerts: { webhook: { url: receiver.url, secret }, cooldownMs: 120_000, timeoutMs: 2000 } },
  });
}

/** Node ids whose heartbeat key is alive in Redis. */
async function liveIds(): Promise<string[]> {
  const ids = (await redis.command('ZRANGE', 'tether:nodes', 0, -1)) as string[];
  const live: string[] = [];
  for (const id of ids) if ((await redis.command('EXISTS', `tether:node:${id}`)) === 1) live.push(id);
  return live.sort();
}

const alertsOf = (): Array<[string, unknown]> =>
  receiver.accepted().map((d) => [String(d.body['type']), (d.body['data'] as { subject?: unknown }).subject]);

/** Enough heartbeats for every survivor to have looked at least a few times more. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 10));

beforeAll(async () => {
  redis = await startRedis();
  receiver = await WebhookReceiver.start(secret);
  for (const [id, node] of await Promise.all(
    ['n1', 'n2', 'n3'].map(async (id) => [id, await startNode(id)] as const),
  )) {
    nodes.set(id, node);
  }
  await waitUntil(async () => ((await liveIds()).length === 3 ? true : undefined), 15_000, '3 live nodes');
}, 60_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop(3000)));
  await receiver?.close();
  await redis?.stop();
});

describe('node alerts in a 3-node cluster', () => {
  it('kill → one "node down"; restart → one "node up"; a second flap inside the cooldown sends nothing', async () => {
    await settle();
    expect(receiver.deliveries).toEqual([]); // the cluster's start is no alert
    // A Redis that lost its keys shows every other node gone until it heartbeats again: no outage.
    await redis.command('FLUSHALL');
    await settle();
    expect(receiver.deliveries).toEqual([]);

    nodes.get('n2')!.kill('SIGKILL');
    await receiver.waitForCount(1, 15_000);
    await settle();
    expect(alertsOf()).toEqual([['alert.node.down', 'n2']]);
    const down = receiver.accepted()[0]!;
    expect(down.valid).toBe(true);
    expect(down.body['data']).toMatchObject({ kind: 'node.down', severity: 'critical', key: 'node.down:n2' });
    expect(['n1', 'n3']).toContain((down.body['data'] as { node: string }).node);
    // Both survivors saw it go (their logs say so); one sent, the other found the event claimed.
    const statuses = ['n1', 'n3'].map(
      (id) => /"key":"node\.down:n2","status":"(\w+)"/.exec(nodes.get(id)!.output())?.[1],
    );
    expect(statuses.sort()).toEqual(['sent', 'suppressed']);

    nodes.set('n2', await startNode('n2'));
    await receiver.waitForCount(2, 15_000);
    await settle();
    expect(alertsOf()).toEqual([
      ['alert.node.down', 'n2'],
      ['alert.node.up', 'n2'],
    ]);

    // The second flap: the survivors see it go and come back, within the 2-minute cooldown.
    nodes.get('n2')!.kill('SIGKILL');
    await waitUntil(async () => (!(await liveIds()).includes('n2') ? true : undefined), 15_000, 'n2 gone');
    await settle();
    nodes.set('n2', await startNode('n2'));
    await waitUntil(async () => ((await liveIds()).includes('n2') ? true : undefined), 15_000, 'n2 back');
    await settle();
    expect(alertsOf()).toEqual([
      ['alert.node.down', 'n2'],
      ['alert.node.up', 'n2'],
    ]);
    expect(receiver.deliveries).toHaveLength(2);
  }, 90_000);
});
