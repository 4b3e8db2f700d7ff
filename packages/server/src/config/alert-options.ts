/**
 * The `alerts` section of a checked file as the `alerts` option: secrets read here (a missing
 * file or variable is a `ConfigError` naming the field at start).
 */
import type { AlertOptions } from '../alerts/options.js';
import type { AlertsSection } from './sections/alerts.js';
import { readSecret } from './sections/secret.js';

export function alertOptionsOf(section: AlertsSection, env: NodeJS.ProcessEnv = process.env): AlertOptions {
  const { discord, slack, webhook, email, ...rest } = section;
  const options: AlertOptions = { ...rest };
  if (discord) options.discord = { ...discord, url: readSecret(discord.url, 'alerts.discord.url', env) };
  if (slack) options.slack = { url: readSecret(slack.url, 'alerts.slack.url', env) };
  if (webhook) options.webhook = { ...webhook, secret: readSecret(webhook.secret, 'alerts.webhook.secret', env) };
  if (email) {
    const { user, pass, ...smtp } = email;
    options.email = {
      ...smtp,
      ...(user !== undefined && { user: readSecret(user, 'alerts.email.user', env) }),
      ...(pass !== undefined && { pass: readSecret(pass, 'alerts.email.pass', env) }),
    };
  }
  return options;
}
