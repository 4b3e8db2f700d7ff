/**
 * Discord webhook target (https://discord.com/developers/docs/resources/webhook#execute-webhook):
 * `content` plus one embed (title, description, color, fields, timestamp, footer). Discord
 * answers 204; a 429 carries `retry_after` (seconds, a fraction) in its JSON body, honoured.
 */
import type { AlertRecord, AlertSeverity, AlertTarget, SendOutcome } from './types.js';
import { checkHttpUrl, postJson, type PostAnswer } from './post-json.js';

export interface DiscordTargetOptions {
  /** The webhook URL (`https://discord.com/api/webhooks/<id>/<token>`): a secret. Required. */
  url: string;
  /** The name the message is posted as. Default: the webhook's own. */
  username?: string;
}

/** Embed colours by severity (red, amber, green). */
const COLORS: Record<AlertSeverity, number> = { critical: 0xd32f2f, warning: 0xf9a825, info: 0x2e7d32 };
/** Discord's limits: title 256, description 4096, 25 fields, name 256, value 1024, content 2000. */
const MAX_FIELDS = 25;

export interface DiscordEmbed {
  title: string;
  description: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  timestamp: string;
  footer: { text: string };
}

export interface DiscordBody {
  content: string;
  username?: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: string[] };
}

export function discordBodyOf(alert: AlertRecord, username?: string): DiscordBody {
  const body: DiscordBody = {
    content: cut(`**${alert.severity.toUpperCase()}** ${alert.title}`, 2000),
    embeds: [
      {
        title: cut(alert.title, 256),
        description: cut(alert.text, 4096),
        color: COLORS[alert.severity],
        fields: Object.entries({ event: alert.kind, node: alert.node, ...alert.fields })
          .slice(0, MAX_FIELDS)
          .map(([name, value]) => ({ name: cut(name, 256), value: cut(String(value), 1024), inline: true })),
        timestamp: new Date(alert.at).toISOString(),
        footer: { text: `tether · ${alert.id}` },
      },
    ],
    // An alert never pings anyone by accident (an `@everyone` in a node name).
    allowed_mentions: { parse: [] },
  };
  if (username !== undefined) body.username = username;
  return body;
}

export class DiscordTarget implements AlertTarget {
  readonly name = 'discord';
  private readonly url: string;

  constructor(private readonly options: DiscordTargetOptions) {
    this.url = checkHttpUrl(options.url, 'alerts.discord.url');
  }

  send(alert: AlertRecord, timeoutMs: number): Promise<SendOutcome> {
    const body = JSON.stringify(discordBodyOf(alert, this.options.username));
    return postJson(this.url, body, {}, timeoutMs, discordRetryAfter);
  }
}

/** A 429's `retry_after` (seconds) in ms; undefined when absent. */
function discordRetryAfter(answer: PostAnswer): number | undefined {
  if (answer.status !== 429) return undefined;
  try {
    const seconds = (JSON.parse(answer.text) as { retry_after?: unknown }).retry_after;
    return typeof seconds === 'number' && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  } catch {
    return undefined;
  }
}

export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
