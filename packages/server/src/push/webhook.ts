/**
 * The webhook provider: one signed POST per (message, user) to the app's backend (Standard
 * Webhooks headers; the body says which message to fetch or resume from). One attempt per call:
 * 2xx is sent, 408/429/5xx and network errors are worth a retry (with `Retry-After` when given),
 * any other answer has failed. The dispatcher retries with the same `webhook-id`, so the receiver
 * dedupes by it.
 */
import { inboxOf } from '@tether/protocol';
import type { PushDevice, PushNotice, PushOutcome, PushProvider } from './provider.js';
import { signWebhook, webhookKeyOf } from './standard-webhooks.js';

export interface WebhookProviderOptions {
  /** Where pushes are POSTed (http or https). Required. */
  url: string;
  /** The signing secret, `whsec_<base64 of 24–64 bytes>` (Standard Webhooks). Required. */
  secret: string;
  /** An attempt without an answer by then is retried. Default 5000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. an `authorization` the receiver wants). Default none. */
  headers?: Readonly<Record<string, string>>;
  /** The provider's name in metrics and logs. Default `webhook`. */
  name?: string;
}

export const webhookDefaults = { timeoutMs: 5000, name: 'webhook' } as const;

/** The JSON body of a push webhook. */
export interface WebhookPushBody {
  /** The `webhook-id` (see `webhookIdOf`). */
  id: string;
  tenant: string;
  sub: string;
  channel: string;
  epoch: string;
  offset: number;
  type: string;
  data: unknown;
  priority: PushNotice['priority'];
  reason: PushNotice['reason'];
  collapseKey?: string;
  expiresAt?: number;
}

export class WebhookProvider implements PushProvider {
  readonly name: string;
  readonly perDevice = false;
  private readonly url: URL;
  private readonly key: Buffer;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;

  /** Throws a TypeError naming a bad option. */
  constructor(
    options: WebhookProviderOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.url = checkUrl(options.url);
    this.key = webhookKeyOf(options.secret);
    this.timeoutMs = options.timeoutMs ?? webhookDefaults.timeoutMs;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new TypeError(`push.webhook.timeoutMs must be a positive whole number, got ${this.timeoutMs}`);
    }
    this.headers = { ...options.headers };
    this.name = options.name ?? webhookDefaults.name;
  }

  async send(notice: PushNotice, _device: PushDevice | undefined): Promise<PushOutcome> {
    const id = webhookIdOf(notice);
    const body = JSON.stringify(bodyOf(notice, id));
    const timestamp = Math.floor(this.now() / 1000);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: {
          ...this.headers,
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(this.key, id, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => undefined);
    } catch (err) {
      return { result: 'retry', afterMs: undefined, error: `webhook unreachable: ${describe(err)}` };
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { result: 'sent' };
    const error = `webhook answered ${status}`;
    if (status === 408 || status === 429 || status >= 500) {
      return { result: 'retry', afterMs: retryAfterMs(response.headers.get('retry-after'), this.now()), error };
    }
    return { result: 'failed', error };
  }
}

/**
 * The delivery's `webhook-id`, the receiver's dedupe key, the same on every retry: the message id
 * for a push of a user's inbox message; with `/<sub>` appended for a message of a shared channel
 * (one message, one push per user: the ids must differ).
 */
export function webhookIdOf(notice: PushNotice): string {
  return notice.channel === inboxOf(notice.sub) ? notice.id : `${notice.id}/${notice.sub}`;
}

function bodyOf(notice: PushNotice, id: string): WebhookPushBody {
  const body: WebhookPushBody = {
    id,
    tenant: notice.tenant,
    sub: notice.sub,
    channel: notice.channel,
    epoch: notice.epoch,
    offset: notice.offset,
    type: notice.type,
    data: notice.data,
    priority: notice.priority,
    reason: notice.reason,
  };
  if (notice.collapseKey !== undefined) body.collapseKey = notice.collapseKey;
  if (notice.expiresAt !== undefined) body.expiresAt = notice.expiresAt;
  return body;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`push.webhook.url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`push.webhook.url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return parsed;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`;
  }
  return String(err);
}
