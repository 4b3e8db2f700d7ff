/**
 * Email target over SMTP (nodemailer): a plain-text mail (and a small HTML one) per alert. One
 * transport per target, no pool: alerts are rare. A 4xx reply or a network error (a timeout
 * included) is worth a retry; a 5xx reply (a refused recipient, bad credentials) has failed.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { AlertRecord, AlertTarget, SendOutcome } from './types.js';
import { describe } from './post-json.js';

export interface EmailTargetOptions {
  /** The SMTP server. Required. */
  host: string;
  /** Default 587, or 465 with `secure`. */
  port?: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. Default false. */
  secure?: boolean;
  /** SMTP AUTH user; none: no authentication. */
  user?: string;
  /** SMTP AUTH password (the config file reads it from `{"env": NAME}` or `{"file": PATH}`). */
  pass?: string;
  /** The sender, e.g. `Tether <alerts@example.com>`. Required. */
  from: string;
  /** One recipient or several. Required. */
  to: string | readonly string[];
}

export class EmailTarget implements AlertTarget {
  readonly name = 'email';
  private transporter: Transporter<SMTPTransport.SentMessageInfo> | undefined;
  private transporterTimeoutMs = 0;

  constructor(private readonly options: EmailTargetOptions) {
    const { host, port, from, to, user, pass } = options;
    if (typeof host !== 'string' || host === '') throw new TypeError('alerts.email.host must be a host name');
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
      throw new TypeError(`alerts.email.port must be a port number, got ${port}`);
    }
    if (typeof from !== 'string' || !from.includes('@')) throw new TypeError('alerts.email.from must be an address');
    const recipients = typeof to === 'string' ? [to] : to;
    if (!Array.isArray(recipients) || recipients.length === 0 || !recipients.every((r) => String(r).includes('@'))) {
      throw new TypeError('alerts.email.to must be an address or a non-empty list of addresses');
    }
    if ((user === undefined) !== (pass === undefined)) {
      throw new TypeError('alerts.email.user and alerts.email.pass go together');
    }
  }

  async send(alert: AlertRecord, timeoutMs: number): Promise<SendOutcome> {
    const figures = Object.entries({ event: alert.kind, node: alert.node, ...alert.fields, id: alert.id });
    const lines = figures.map(([name, value]) => `${name}: ${value}`);
    try {
      await this.transport(timeoutMs).sendMail({
        from: this.options.from,
        to: [...(typeof this.options.to === 'string' ? [this.options.to] : this.options.to)],
        subject: `[Tether ${alert.severity}] ${alert.title}`,
        text: `${alert.text}\n\n${lines.join('\n')}\n\nat ${new Date(alert.at).toISOString()}\n`,
        html:
          `<p>${html(alert.text)}</p><table>` +
          figures.map(([n, v]) => `<tr><th align="left">${html(n)}</th><td>${html(String(v))}</td></tr>`).join('') +
          `</table><p>at ${new Date(alert.at).toISOString()}</p>`,
        headers: { 'X-Tether-Alert': alert.kind, 'X-Tether-Alert-Id': alert.id },
      });
      return { result: 'sent' };
    } catch (err) {
      const code = (err as { responseCode?: unknown }).responseCode;
      const error = `smtp: ${describe(err)}`;
      return typeof code === 'number' && code >= 500 ? { result: 'failed', error } : { result: 'retry', error };
    }
  }

  close(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }

  private transport(timeoutMs: number): Transporter<SMTPTransport.SentMessageInfo> {
    if (this.transporter && this.transporterTimeoutMs === timeoutMs) return this.transporter;
    this.close();
    const { host, port, secure = false, user, pass } = this.options;
    this.transporterTimeoutMs = timeoutMs;
    this.transporter = nodemailer.createTransport({
      host,
      port: port ?? (secure ? 465 : 587),
      secure,
      ...(user !== undefined && pass !== undefined ? { auth: { user, pass } } : {}),
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    return this.transporter;
  }
}

function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
