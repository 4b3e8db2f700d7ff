/* global fetch */
/**
 * One Tether node of the back-office cluster, in its own process (so that it can really die):
 * `createTetherServer` on the shared Redis, with
 *  - stores as tenants: one API key per store, good only for its tenant (`apiKeys`);
 *  - staff presence on each store's orders feed, and `onLastActive` writing each staff member's
 *    `lastActiveAt` to the back-office's staff directory;
 *  - alerts to the back-office's ops webhook (Standard Webhooks signed): when a node of the
 *    cluster dies, a survivor sends `node.down`, once.
 * Started by run.js with `fork`; its settings (secrets among them) come as the first IPC message,
 * not on the command line; it answers with its URL and exits when run.js goes away.
 */
import { createTetherServer } from '@tether/server';

const CLOSE_DEADLINE_MS = 3000; // a close that waits on a Redis already gone must not hang

process.on('SIGINT', () => {}); // Ctrl-C reaches the whole group: run.js stops us in order
process.on('disconnect', () => process.exit(0)); // run.js gone before we were up (replaced below)
const settings = await new Promise((resolve) => {
  process.once('message', resolve);
  process.send({ settingsPlease: true }); // asked once listening: a message sent earlier could be lost
});

async function recordLastActive({ tenant, sub, at }) {
  // The back-office's own table of staff; a failure is logged by Tether and changes nothing else.
  const res = await fetch(settings.staffDirectoryUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, sub, lastActiveAt: at }),
  });
  if (!res.ok) throw new Error(`staff directory answered ${res.status}`);
}

const tether = await createTetherServer({
  store: settings.redisUrl,
  cluster: { redisUrl: settings.redisUrl, nodeId: settings.nodeId, heartbeatMs: settings.heartbeatMs },
  presenceLeaseMs: settings.presenceLeaseMs,
  jwtSecret: settings.jwtSecret,
  apiKeys: settings.stores.map(({ tenant, apiKey }) => ({ key: apiKey, tenant })),
  presence: {
    channels: [{ pattern: 'store:*:orders', mode: 'members' }],
    graceMs: 1000,
    lastActiveThrottleMs: 5000,
    onLastActive: recordLastActive,
  },
  alerts: { webhook: { url: settings.alertWebhookUrl, secret: settings.alertSecret }, timeoutMs: 2000 },
  logger: { level: 'warn' },
});
const { url } = await tether.listen(0, '127.0.0.1');
process.send({ ready: true, url, nodeId: settings.nodeId });

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  setTimeout(() => process.exit(0), CLOSE_DEADLINE_MS).unref();
  await tether.close().catch(() => {});
  process.exit(0);
};
process.removeAllListeners('disconnect');
process.on('disconnect', close); // run.js ended (or was killed): do not outlive it
process.on('SIGTERM', close);
