/**
 * A Standard Webhooks receiver on 127.0.0.1 (a real HTTP server on a free port), for push tests:
 * it verifies each delivery's signature itself, from the spec (not with the server's signing
 * code), records every delivery, and answers with scripted statuses (`respondWith`) so tests can
 * make the sender retry.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { listenLoopback } from './listen.js';

// Captured at load: tests that fake timers still get a real deadline here.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

export interface WebhookDelivery {
  /** `webhook-id`. */
  id: string;
  /** `webhook-timestamp`, seconds. */
  timestamp: number;
  signature: string;
  /** The signature verified against the receiver's secret. */
  valid: boolean;
  /** The body as sent (what was signed). */
  raw: string;
  /** The body parsed. */
  body: Record<string, unknown>;
  /** The status the receiver answered. */
  status: number;
  headers: http.IncomingHttpHeaders;
  /** When it arrived, by the real clock. */
  receivedAt: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
}

export class WebhookReceiver {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly events = new EventEmitter();
  private readonly script: ScriptedAnswer[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly key: Buffer,
  ) {}

  /** Starts a receiver for `secret` (`whsec_<base64>`). */
  static async start(secret: string): Promise<WebhookReceiver> {
    if (!secret.startsWith('whsec_')) throw new TypeError('a Standard Webhooks secret starts with whsec_');
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const made: { receiver?: WebhookReceiver } = {};
    const server = http.createServer((request, response) => made.receiver?.receive(request, response));
    const port = await listenLoopback(server, 'webhook receiver');
    made.receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/push`, key);
    return made.receiver;
  }

  /** The next deliveries get these answers, in order (then 204 again). */
  respondWith(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Deliveries answered 2xx, with a valid signature. */
  accepted(): WebhookDelivery[] {
    return this.deliveries.filter((d) => d.valid && d.status >= 200 && d.status < 300);
  }

  /** Resolves once `count` deliveries arrived (any answer); rejects after `timeoutMs` of real time. */
  async waitForCount(count: number, timeoutMs = 5000): Promise<WebhookDelivery[]> {
    if (this.deliveries.length >= count) return this.deliveries;
    return new Promise((resolve, reject) => {
      const onDelivery = (): void => {
        if (this.deliveries.length < count) return;
        realClearTimeout(timer);
        this.events.off('delivery', onDelivery);
        resolve(this.deliveries);
      };
      const timer = realSetTimeout(() => {
        this.events.off('delivery', onDelivery);
        reject(
          new Error(`webhook receiver: ${this.deliveries.length} deliveries after ${timeoutMs} ms, wanted ${count}`),
        );
      }, timeoutMs);
      this.events.on('delivery', onDelivery);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private receive(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const id = header(request, 'webhook-id');
      const timestamp = Number(header(request, 'webhook-timestamp'));
      const signature = header(request, 'webhook-signature');
      const answer = this.script.shift() ?? { status: 204 };
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // Recorded with an empty body; `valid` still says whether the bytes were signed.
      }
      this.deliveries.push({
        id,
        timestamp,
        signature,
        valid: this.verify(id, timestamp, raw, signature),
        raw,
        body,
        status: answer.status,
        headers: request.headers,
        receivedAt: Date.now(),
      });
      response.writeHead(answer.status, answer.headers);
      response.end();
      this.events.emit('delivery');
    });
  }

  /** The spec's check: any `v1,<base64>` entry equal to HMAC-SHA256(key, `id.timestamp.body`). */
  private verify(id: string, timestamp: number, raw: string, header: string): boolean {
    if (id === '' || !Number.isInteger(timestamp)) return false;
    const expected = createHmac('sha256', this.key).update(`${id}.${timestamp}.${raw}`).digest();
    return header.split(' ').some((entry) => {
      const [version, encoded] = entry.split(',', 2);
      if (version !== 'v1' || encoded === undefined) return false;
      const given = Buffer.from(encoded, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }
}

function header(request: http.IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
