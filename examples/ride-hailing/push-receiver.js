/**
 * The app's push service as the backend's webhook sees it: Tether POSTs each push here, signed as
 * Standard Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). A real backend
 * would now send the notification (APNs, FCM, SMS); this one checks the signature, dedupes by
 * `webhook-id` (a retry after a lost answer repeats it) and logs. Node built-ins and the public
 * `signWebhook` only.
 */
import http from 'node:http';
import { newWebhookSecret, signWebhook } from '@tether/server';

export async function startPushReceiver({ log = console.log } = {}) {
  const secret = newWebhookSecret();
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const received = []; // { id, type, tripId, reason, valid }
  const seen = new Set();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const timestamp = Number(req.headers['webhook-timestamp']);
      const signatures = String(req.headers['webhook-signature'] ?? '').split(' ');
      const valid = signatures.includes(signWebhook(key, id, timestamp, body));
      if (!valid) return res.writeHead(401).end();
      res.writeHead(204).end();
      if (seen.has(id)) return; // the same push again: already handled
      seen.add(id);
      const push = JSON.parse(body);
      const entry = { id, type: push.type, tripId: push.data?.tripId, reason: push.reason, valid };
      received.push(entry);
      log(`  push        -> ${push.sub}: ${push.type} ${entry.tripId} (${push.reason}; signature ok)`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/push`,
    secret,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
