/**
 * The app's push service as the backend's webhook sees it: Tether POSTs each push here, signed as
 * Standard Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). A real service
 * would now send the notification (APNs, FCM, SMS); this one checks the signature, dedupes by
 * `webhook-id` (a retry after a lost answer repeats it) and logs. Node built-ins and the public
 * `signWebhook` only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newWebhookSecret, signWebhook, type WebhookPushBody } from '@tether/server';

export interface ReceivedPush {
  id: string;
  type: string;
  tripId: string | undefined;
  reason: WebhookPushBody['reason'];
}

export interface PushReceiver {
  url: string;
  secret: string;
  received: ReceivedPush[];
  close(): Promise<void>;
}

export async function startPushReceiver(log: (line: string) => void = console.log): Promise<PushReceiver> {
  const secret = newWebhookSecret();
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const received: ReceivedPush[] = [];
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const timestamp = Number(req.headers['webhook-timestamp']);
      const signatures = String(req.headers['webhook-signature'] ?? '').split(' ');
      if (!signatures.includes(signWebhook(key, id, timestamp, body))) return void res.writeHead(401).end();
      res.writeHead(204).end();
      if (seen.has(id)) return; // the same push again: already handled
      seen.add(id);
      const push = JSON.parse(body) as WebhookPushBody;
      const tripId = (push.data as { tripId?: string } | null)?.tripId;
      received.push({ id, type: push.type, tripId, reason: push.reason });
      log(`  push        -> ${push.sub}: ${push.type} ${tripId} (${push.reason}; signature ok)`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`,
    secret,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
