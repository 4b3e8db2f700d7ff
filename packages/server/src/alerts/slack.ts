/**
 * Slack incoming-webhook target (https://api.slack.com/messaging/webhooks): `text` (the
 * notification line) plus Block Kit `blocks`: a header, the text, the figures as fields (at most
 * 10), and a context line. Slack answers 200 `ok`; 429 with `Retry-After`, honoured.
 */
import type { AlertRecord, AlertTarget, SendOutcome } from './types.js';
import { checkHttpUrl, postJson } from './post-json.js';
import { cut } from './discord.js';

export interface SlackTargetOptions {
  /** The incoming webhook URL (`https://hooks.slack.com/services/…`): a secret. Required. */
  url: string;
}

const MAX_FIELDS = 10;

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'section'; fields: { type: 'mrkdwn'; text: string }[] }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

export interface SlackBody {
  text: string;
  blocks: SlackBlock[];
}

const ICONS = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_green_circle:' } as const;

export function slackBodyOf(alert: AlertRecord): SlackBody {
  const fields = Object.entries(alert.fields)
    .slice(0, MAX_FIELDS)
    .map(([name, value]) => ({
      type: 'mrkdwn' as const,
      text: cut(`*${escape(name)}*\n${escape(String(value))}`, 2000),
    }));
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(alert.title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${ICONS[alert.severity]} ${escape(alert.text)}`, 3000) } },
  ];
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `\`${alert.kind}\` · node ${escape(alert.node)} · ${new Date(alert.at).toISOString()}` },
    ],
  });
  return { text: cut(`[${alert.severity}] ${alert.title}`, 3000), blocks };
}

export class SlackTarget implements AlertTarget {
  readonly name = 'slack';
  private readonly url: string;

  constructor(options: SlackTargetOptions) {
    this.url = checkHttpUrl(options.url, 'alerts.slack.url');
  }

  send(alert: AlertRecord, timeoutMs: number): Promise<SendOutcome> {
    return postJson(this.url, JSON.stringify(slackBodyOf(alert)), {}, timeoutMs);
  }
}

/** Slack's mrkdwn needs `&`, `<` and `>` escaped. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
