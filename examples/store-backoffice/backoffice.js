/**
 * The back-office's own backend, the part Tether does not do:
 *  - the staff directory: each staff member's `lastActiveAt`, written by the nodes' `onLastActive`
 *    hook (POST /staff/last-active) — a real app would update its users table here;
 *  - the ops inbox: Tether's alerts arrive at POST /ops/alerts as Standard Webhooks; each is
 *    checked against the shared secret (a bad signature is refused with 401) and deduped by
 *    `webhook-id` (a retry repeats it);
 *  - staff login: a user token for a staff member, its tenant the member's store.
 * Node built-ins and the public `@tether/server` entry point only.
 */
import http from 'node:http';
import { issueToken, newWebhookSecret, signWebhook } from '@tether/server';

const MAX_SIGNATURE_AGE_SECONDS = 5 * 60; // Standard Webhooks: refuse old (replayed) deliveries

/** True when one of the `v1,…` signatures is ours for this id, timestamp and body, and it is fresh. */
function signatureValid(key, headers, body) {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = Number(headers['webhook-timestamp']);
  if (!id || !Number.isInteger(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > MAX_SIGNATURE_AGE_SECONDS) return false;
  const expected = signWebhook(key, id, timestamp, body);
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .includes(expected);
}

export async function startBackoffice({ jwtSecret, log = console.log }) {
  const alertSecret = newWebhookSecret();
  const alertKey = Buffer.from(alertSecret.slice('whsec_'.length), 'base64');
  const lastActive = new Map(); // `${tenant}/${sub}` → ms since the epoch
  const alerts = []; // { id, type, subject, node, title }
  const refusedAlerts = [];
  const seenAlertIds = new Set();

  const routes = {
    'POST /staff/last-active': (body) => {
      const { tenant, sub, lastActiveAt } = JSON.parse(body);
      const key = `${tenant}/${sub}`;
      // Monotonic, like Tether's own lastSeen: a late write of an earlier time changes nothing.
      if (!(lastActive.get(key) >= lastActiveAt)) lastActive.set(key, lastActiveAt);
      log(`  staff dir   ${key} lastActiveAt = ${new Date(lastActiveAt).toISOString()}`);
      return 204;
    },
    'POST /ops/alerts': (body, headers) => {
      if (!signatureValid(alertKey, headers, body)) {
        refusedAlerts.push(String(headers['webhook-id'] ?? ''));
        log('  ops inbox   REFUSED an alert: bad signature');
        return 401;
      }
      const id = String(headers['webhook-id']);
      if (seenAlertIds.has(id)) return 204; // a retry of one already handled
      seenAlertIds.add(id);
      const { type, data } = JSON.parse(body);
      alerts.push({ id, type, subject: data.subject, node: data.node, title: data.title, signatureValid: true });
      log(`  ops inbox   ${type} (${data.severity}) from ${data.node}: ${data.title} [signature ok]`);
      return 204;
    },
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const route = routes[`${req.method} ${req.url}`];
      try {
        res.writeHead(route ? route(body, req.headers) : 404).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    staffDirectoryUrl: `${url}/staff/last-active`,
    alertWebhookUrl: `${url}/ops/alerts`,
    alertSecret,
    lastActiveAt: (tenant, sub) => lastActive.get(`${tenant}/${sub}`),
    alerts,
    refusedAlerts,
    /** A staff member's login: the token's tenant is the store; `channels` what it may read. */
    staffToken: (store, sub, channels = [`store:${store.id}:*`]) =>
      issueToken({ secret: jwtSecret, sub, tenant: store.tenant, channels }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
