#!/usr/bin/env node
/* global fetch */
/**
 * The store back-office, played from start to end (about 10 s), then checked:
 *
 *   npm run example:store-backoffice        (after `npm run build`)
 *
 * Two stores are two tenants of one Tether cluster (two nodes on one private redis-server). Each
 * store's backend publishes its orders over HTTP with its own API key; its staff watch the
 * store's orders feed with the SDK. Staff activity is written to the back-office's staff
 * directory by the `onLastActive` hook. Then a node is killed: the survivor alerts the ops
 * webhook (signed; the receiver checks it), the staff who were on the dead node reconnect through
 * the load balancer and resume. Exit 0 when every check holds; the last line is `SUMMARY {json}`.
 */
import { randomBytes } from 'node:crypto';
import { startBackoffice } from './backoffice.js';
import { startNode } from './cluster.js';
import { startFailoverProxy } from './failover-proxy.js';
import { startRedis } from './redis.js';
import { startStaff } from './staff.js';
import { storeBackend } from './store-backend.js';
import { checkRun } from './checks.js';

const HEARTBEAT_MS = 200; // a dead node is known within ~1 s (5 heartbeats); the default is 5 s
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const step = (text) => console.log(`\n== ${text}`);

async function until(what, test, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const stores = [
  { id: 'a', tenant: 'store-a', apiKey: `sk_a_${randomBytes(16).toString('hex')}` },
  { id: 'b', tenant: 'store-b', apiKey: `sk_b_${randomBytes(16).toString('hex')}` },
];
const [storeA, storeB] = stores;
const jwtSecret = randomBytes(32).toString('base64url');
const cleanups = [];
const nodes = [];
let ok = false;
let summary = {};
const stopNow = async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  process.exit(130);
};
process.once('SIGINT', stopNow); // Ctrl-C: stop what was started, in order
process.once('SIGTERM', stopNow);

try {
  step('the cluster: a private redis-server, two Tether nodes, a load balancer, the back-office');
  const redis = await startRedis();
  cleanups.unshift(() => redis.stop());
  const backoffice = await startBackoffice({ jwtSecret });
  cleanups.unshift(() => backoffice.close());
  const nodeSettings = (nodeId) => ({
    nodeId,
    redisUrl: redis.url,
    heartbeatMs: HEARTBEAT_MS,
    presenceLeaseMs: 1500,
    jwtSecret,
    stores,
    staffDirectoryUrl: backoffice.staffDirectoryUrl,
    alertWebhookUrl: backoffice.alertWebhookUrl,
    alertSecret: backoffice.alertSecret,
  });
  const [node1, node2] = await Promise.all([startNode(nodeSettings('node-1')), startNode(nodeSettings('node-2'))]);
  nodes.push(node1, node2);
  cleanups.unshift(() => Promise.all(nodes.map((node) => node.stop())));
  // The balancer prefers node-2 while it lives (so that its staff have something to lose).
  const balancer = await startFailoverProxy([node2.url, node1.url]);
  cleanups.unshift(() => balancer.close());
  console.log(`  redis ${redis.url}; node-1 ${node1.url}; node-2 ${node2.url}; balancer ${balancer.url}`);

  step('staff log in: each token names the store as its tenant');
  const staffOf = async (name, store, url, channels) =>
    startStaff({ name, store, url, token: await backoffice.staffToken(store, name, channels) });
  const ann = await staffOf('ann', storeA, node1.url); // store A, on node-1
  const bob = await staffOf('bob', storeA, balancer.url); // store A, through the balancer: node-2
  const cara = await staffOf('cara', storeB, balancer.url); // store B, node-2
  // Tokens minted too broadly (every store's channels): the tenant still walls them in.
  const dave = await staffOf('dave', storeA, node1.url, ['store:*']);
  const erin = await staffOf('erin', storeB, node1.url, ['store:*']);
  const staff = [ann, bob, cara, dave, erin];
  cleanups.unshift(() => Promise.all(staff.map((member) => member.client.close())));

  step("last-active: the onLastActive hook writes each member's lastActiveAt to the staff directory");
  await until(
    'the staff directory to know every member',
    () => staff.every((member) => backoffice.lastActiveAt(member.store.tenant, member.name) !== undefined),
    20_000,
  );
  const backendA = storeBackend(storeA, node1.url);
  const backendB = storeBackend(storeB, node1.url);
  // Each store's key asks about ann (store A) and cara (store B): a store sees only its own staff.
  const presence = {};
  for (const [backend, store] of [
    [backendA, storeA],
    [backendB, storeB],
  ]) {
    presence[store.tenant] = {};
    for (const sub of ['ann', 'cara']) {
      const answer = await backend.presenceOf(sub);
      // Beside it, what the staff directory holds for this tenant's `sub` (none: another store's).
      presence[store.tenant][sub] = { ...answer, staffDirectory: backoffice.lastActiveAt(store.tenant, sub) ?? null };
      const seen = answer.lastSeen ? new Date(answer.lastSeen).toISOString() : 'never';
      console.log(
        `  GET /v1/presence/users/${sub} with store ${store.id.toUpperCase()}'s key: ${answer.status}, lastSeen ${seen}`,
      );
    }
  }

  step("isolation: each store's staff and key try the other store's feed");
  const intrusions = {};
  for (const [member, broad, backend, other] of [
    [ann, dave, backendA, storeB],
    [cara, erin, backendB, storeA],
  ]) {
    const feed = `store:${other.id}:orders`;
    const attempt = await member.watch(feed);
    const codes = member.refusals.map((r) => r.code).join(', ');
    console.log(`  ${member.name} (${member.store.tenant}) subscribes ${feed}: ${attempt.state} (${codes})`);
    await broad.watch(feed);
    console.log(`  ${broad.name} (token allows store:*) subscribes ${feed}: allowed, but in ${broad.store.tenant}`);
    const intrusion = await backend.tryPublishAs(other.tenant, feed);
    intrusions[member.store.id] = intrusion;
    console.log(
      `  store ${member.store.id.toUpperCase()}'s key publishes into ${other.tenant}: ${intrusion.status} ${intrusion.code}`,
    );
  }

  step('orders: both stores publish new orders and status changes');
  const published = { a: [], b: [] };
  const placeA = async (id, total) => published.a.push({ ...(await backendA.orderPlaced(id, total)), orderId: id });
  const moveA = async (id, status) =>
    published.a.push({ ...(await backendA.statusChanged(id, status)), orderId: id, status });
  const placeB = async (id, total) => published.b.push({ ...(await backendB.orderPlaced(id, total)), orderId: id });
  const moveB = async (id, status) =>
    published.b.push({ ...(await backendB.statusChanged(id, status)), orderId: id, status });
  await placeA('A-1001', 42.5);
  await placeB('B-2001', 18);
  await placeA('A-1002', 7.9);
  await moveA('A-1001', 'accepted');
  await moveB('B-2001', 'accepted');
  await until('the first orders on every screen', () => bob.handled.length >= 3 && cara.handled.length >= 2, 20_000);

  step('node-2 dies (SIGKILL): bob and cara were on it');
  const killedAt = Date.now();
  await node2.kill();
  await moveA('A-1002', 'accepted');
  await moveA('A-1001', 'ready');
  await moveB('B-2001', 'ready');
  await placeA('A-1003', 15);
  await until('the node-down alert', () => backoffice.alerts.length > 0, 20_000);
  const alertAfterMs = Date.now() - killedAt;
  console.log(`  alert received ${alertAfterMs} ms after the kill`);
  const forged = await fetch(backoffice.alertWebhookUrl, {
    method: 'POST',
    headers: {
      'webhook-id': 'msg_forged',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,Zm9yZ2Vk',
    },
    body: JSON.stringify({ type: 'alert.node.down', data: { subject: 'node-1' } }),
  });
  console.log(`  a forged alert (wrong signature) is answered ${forged.status}`);

  step('every screen catches up');
  const wanted = (member) => (member.store === storeA ? published.a.length : published.b.length);
  await until(
    'every member to have its feed',
    () =>
      staff.every(
        (member) =>
          member.handled.filter((h) => h.channel === `store:${member.store.id}:orders`).length >= wanted(member),
      ),
    20_000,
  );
  await sleep(1000); // a duplicate, or another store's order, would show up now

  const presenceAfter = await backendA.presenceOf('bob');
  ({ ok, summary } = checkRun({
    stores,
    published,
    staff,
    backoffice,
    presence,
    intrusions,
    forgedStatus: forged.status,
  }));
  summary.bobAfterFailover = { status: presenceAfter.status, devices: presenceAfter.devices.length };
  summary.alertAfterMs = alertAfterMs;
} catch (err) {
  console.error(`\nFAILED: ${err.stack ?? err}`);
  summary.error = String(err.message ?? err);
} finally {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch((err) => console.error(`cleanup: ${err.message}`));
}
if (!ok) for (const node of nodes) console.error(`\n-- ${node.nodeId}'s log --\n${node.output()}`);
console.log(`\n${ok ? 'OK: every check holds' : 'MISMATCH: see above'}`);
console.log(`SUMMARY ${JSON.stringify(summary)}`);
process.exit(ok ? 0 : 1);
