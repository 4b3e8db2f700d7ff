/**
 * Generic signed webhook target: a Standard Webhooks delivery (push/standard-webhooks.ts signs it)
 * whose body is `{ type: 'alert.<kind>', timestamp, data: <the alert> }`. The `webhook-id` is the
 * alert's id, the same on every retry, so the receiver dedupes by it.
 */
import { signWebhook, webhookKeyOf } from '../push/standard-webhooks.js';
import type { AlertRecord, AlertTarget, SendOutcome } from './types.js';
import { checkHttpUrl, postJson } from './post-json.js';

export interface WebhookAlertOptions {
  /** Where alerts are POSTed (http or https). Required. */
  url: string;
  /** The signing secret, `whsec_<base64 of 24–64 bytes>` (Standard Webhooks). Required. */
  secret: string;
  /** Extra request headers. Default none. */
  headers?: Readonly<Record<string, string>>;
}

export interface WebhookAlertBody {
  type: `alert.${AlertRecord['kind']}`;
  /** ISO 8601. */
  timestamp: string;
  data: Omit<AlertRecord, 'status' | 'results'>;
}

export class WebhookAlertTarget implements AlertTarget {
  readonly name = 'webhook';
  private readonly url: string;
  private readonly key: Buffer;

  constructor(
    private readonly options: WebhookAlertOptions,
    private readonly now: () => number,
  ) {
    this.url = checkHttpUrl(options.url, 'alerts.webhook.url');
    try {
      this.key = webhookKeyOf(options.secret);
    } catch (err) {
      throw new TypeError((err as Error).message.replace('push.webhook', 'alerts.webhook'), { cause: err });
    }
  }

  send(alert: AlertRecord, timeoutMs: number): Promise<SendOutcome> {
    const { status: _status, results: _results, ...data } = alert;
    const payload: WebhookAlertBody = {
      type: `alert.${alert.kind}`,
      timestamp: new Date(alert.at).toISOString(),
      data,
    };
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(this.now() / 1000);
    return postJson(
      this.url,
      body,
      {
        ...this.options.headers,
        'webhook-id': alert.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(this.key, alert.id, timestamp, body),
      },
      timeoutMs,
    );
  }
}
