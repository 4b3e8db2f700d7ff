/**
 * Each alert target against a local receiver of its real shape: Discord (content + embeds, 429
 * `retry_after`), Slack (text + blocks, `Retry-After`), a Standard Webhooks receiver verifying the
 * signature, and a real SMTP server receiving the mail (AUTH, 4xx retried, 5xx not). A failing
 * target is retried a bounded number of times, recorded, and never throws; the cooldown holds.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  WebhookReceiver,
  startDiscordReceiver,
  startSlackReceiver,
  startSmtpReceiver,
  waitUntil,
} from '@tether/testing';
import { createTetherServer, newWebhookSecret } from '@tether/server';
import type { Alerts } from '../../src/alerts/alerts.js';
import type { AlertRecord } from '../../src/alerts/types.js';
import { alertsWith, storeDown } from './helpers.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function track(alerts: Alerts): Alerts {
  cleanup.push(() => alerts.close());
  return alerts;
}

/** The record once every target answered. */
const settled = (alerts: Alerts, record: AlertRecord | undefined, targets = 1): Promise<AlertRecord> =>
  waitUntil(
    () => alerts.recent().find((r) => r.id === record?.id && r.results.length >= targets),
    10_000,
    'every target answered',
  );

describe('alert targets', () => {
  it('Discord: content plus one embed with title, description, color, fields and timestamp', async () => {
    const discord = await startDiscordReceiver();
    cleanup.push(() => discord.close());
    const alerts = track(alertsWith({ discord: { url: discord.url, username: 'Tether' } }, () => 1_700_000_000_000));
    const record = await alerts.raise(storeDown);
    expect((await settled(alerts, record)).results).toEqual([{ target: 'discord', ok: true, attempts: 1 }]);
    expect(discord.deliveries).toHaveLength(1);
    const [delivery] = discord.accepted();
    expect(delivery?.problems).toEqual([]);
    expect(delivery?.body).toMatchObject({
      content: expect.stringContaining('Tether store (redis) is down'),
      username: 'Tether',
      embeds: [
        {
          title: 'Tether store (redis) is down',
          description: 'The redis store does not answer.',
          color: 0xd32f2f,
          timestamp: '2023-11-14T22:13:20.000Z',
          fields: expect.arrayContaining([
            { name: 'event', value: 'store.down', inline: true },
            { name: 'node', value: 'node-a', inline: true },
            { name: 'error', value: 'connection refused', inline: true },
          ]),
        },
      ],
    });
  });

  it("Discord: a 429 is retried after the body's retry_after", async () => {
    const discord = await startDiscordReceiver();
    cleanup.push(() => discord.close());
    discord.rateLimit(0.3);
    const alerts = track(alertsWith({ discord: { url: discord.url }, retryBaseMs: 30_000 }));
    const record = await alerts.raise(storeDown);
    // retryBaseMs is 30 s: an answer within the test's bound can only come from honouring retry_after.
    expect((await settled(alerts, record)).results).toEqual([{ target: 'discord', ok: true, attempts: 2 }]);
    expect(discord.deliveries.map((d) => d.status)).toEqual([429, 204]);
  });

  it('Slack: text plus header, section, fields and context blocks; a 429 waits for Retry-After', async () => {
    const slack = await startSlackReceiver();
    cleanup.push(() => slack.close());
    slack.rateLimit(1);
    const alerts = track(alertsWith({ slack: { url: slack.url }, retryBaseMs: 30_000 }));
    const record = await alerts.raise(storeDown);
    expect((await settled(alerts, record)).results).toEqual([{ target: 'slack', ok: true, attempts: 2 }]);
    expect(slack.deliveries.map((d) => d.status)).toEqual([429, 200]);
    const [delivery] = slack.accepted();
    expect(delivery?.problems).toEqual([]);
    expect(delivery?.body).toMatchObject({
      text: '[critical] Tether store (redis) is down',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Tether store (redis) is down' } },
        { type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('does not answer') } },
        { type: 'section', fields: [{ type: 'mrkdwn', text: '*store*\nredis' }, expect.anything()] },
        { type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringContaining('`store.down`') }] },
      ],
    });
  });

  it('signed webhook: the Standard Webhooks signature verifies, the webhook-id is the same on a retry', async () => {
    const secret = newWebhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanup.push(() => receiver.close());
    receiver.respondWith({ status: 503 });
    const alerts = track(alertsWith({ webhook: { url: receiver.url, secret }, retryBaseMs: 50 }));
    const record = await alerts.raise(storeDown);
    expect((await settled(alerts, record)).results).toEqual([{ target: 'webhook', ok: true, attempts: 2 }]);
    expect(receiver.deliveries.map((d) => [d.status, d.valid, d.id])).toEqual([
      [503, true, record!.id],
      [204, true, record!.id],
    ]);
    expect(receiver.accepted()[0]?.body).toMatchObject({
      type: 'alert.store.down',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { id: record!.id, kind: 'store.down', key: 'store.down', node: 'node-a', fields: storeDown.fields },
    });
    // Signed with another secret, the receiver's check fails: the test can tell.
    const other = await WebhookReceiver.start(newWebhookSecret());
    cleanup.push(() => other.close());
    const wrong = track(alertsWith({ webhook: { url: other.url, secret } }));
    await settled(wrong, await wrong.raise(storeDown));
    expect(other.deliveries.map((d) => d.valid)).toEqual([false]);
  });

  it('email: a real SMTP server receives the mail, with AUTH', async () => {
    const smtp = await startSmtpReceiver({ auth: { user: 'tether', pass: 's3cret-pass' } });
    cleanup.push(() => smtp.close());
    const email = {
      host: smtp.host,
      port: smtp.port,
      user: 'tether',
      pass: 's3cret-pass',
      from: 'Tether <alerts@example.com>',
      to: ['ops@example.com', 'oncall@example.com'],
    };
    const alerts = track(alertsWith({ email }));
    const record = await alerts.raise(storeDown);
    expect((await settled(alerts, record)).results).toEqual([{ target: 'email', ok: true, attempts: 1 }]);
    const [mail] = smtp.mails;
    expect(mail).toMatchObject({
      from: 'alerts@example.com',
      to: ['ops@example.com', 'oncall@example.com'],
      user: 'tether',
    });
    expect(mail?.parsed.subject).toBe('[Tether critical] Tether store (redis) is down');
    expect(mail?.parsed.text).toContain('The redis store does not answer.');
    expect(mail?.parsed.text).toContain('error: connection refused');
    expect(mail?.parsed.headers.get('x-tether-alert-id')).toBe(record!.id);
  });

  it('email: a 4xx reply is retried, a wrong password (535) fails without retries', async () => {
    const smtp = await startSmtpReceiver({ auth: { user: 'tether', pass: 'right' } });
    cleanup.push(() => smtp.close());
    smtp.refuseNext(451);
    const base = { host: smtp.host, port: smtp.port, from: 'alerts@example.com', to: 'ops@example.com' };
    const alerts = track(alertsWith({ email: { ...base, user: 'tether', pass: 'right' }, retryBaseMs: 50 }));
    const record = await alerts.raise(storeDown);
    expect((await settled(alerts, record)).results).toEqual([{ target: 'email', ok: true, attempts: 2 }]);
    expect(smtp.mails).toHaveLength(1);

    const wrong = track(alertsWith({ email: { ...base, user: 'tether', pass: 'wrong' }, retryBaseMs: 50 }));
    const refused = await settled(wrong, await wrong.raise(storeDown));
    expect(refused.results).toEqual([
      { target: 'email', ok: false, attempts: 1, error: expect.stringContaining('smtp:') },
    ]);
    expect(smtp.refusedLogins).toBe(1);
    expect(smtp.mails).toHaveLength(1);
  });

  it('an unreachable or silent target is retried maxAttempts times, recorded, never thrown; the others still get it', async () => {
    const silent = http.createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as { port: number }).port;
    const slack = await startSlackReceiver();
    cleanup.push(() => slack.close());
    const alerts = track(
      alertsWith({
        discord: { url: 'http://127.0.0.1:1/api/webhooks/1/x' }, // nothing listens on port 1
        webhook: { url: `http://127.0.0.1:${port}/hook`, secret: newWebhookSecret() },
        slack: { url: slack.url },
        timeoutMs: 200,
        maxAttempts: 2,
        retryBaseMs: 20,
      }),
    );
    const record = await alerts.raise(storeDown);
    const done = await settled(alerts, record, 3);
    const byTarget = Object.fromEntries(done.results.map((r) => [r.target, r]));
    expect(byTarget['discord']).toMatchObject({
      ok: false,
      attempts: 2,
      error: expect.stringContaining('unreachable'),
    });
    expect(byTarget['webhook']).toMatchObject({ ok: false, attempts: 2, error: 'unreachable: timed out' });
    expect(byTarget['slack']).toEqual({ target: 'slack', ok: true, attempts: 1 });
  });

  it('the cooldown: the same event is sent once; another subject is its own event', async () => {
    const slack = await startSlackReceiver();
    cleanup.push(() => slack.close());
    let now = 1_000_000;
    const alerts = track(alertsWith({ slack: { url: slack.url }, cooldownMs: 60_000 }, () => now));
    const first = await alerts.raise(storeDown);
    now += 59_000;
    const second = await alerts.raise(storeDown);
    const down = (subject: string): Parameters<Alerts['raise']>[0] => ({
      kind: 'node.down',
      severity: 'critical',
      subject,
      title: `node ${subject} down`,
      text: '',
      fields: {},
    });
    const n1 = await alerts.raise(down('n1'));
    const n2 = await alerts.raise(down('n2'));
    now += 2000; // past the first one's cooldown
    const third = await alerts.raise(storeDown);
    expect([first, second, n1, n2, third].map((r) => [r?.key, r?.status])).toEqual([
      ['store.down', 'sent'],
      ['store.down', 'suppressed'],
      ['node.down:n1', 'sent'],
      ['node.down:n2', 'sent'],
      ['store.down', 'sent'],
    ]);
    await slack.waitForCount(4);
    await settled(alerts, third);
    expect(slack.accepted()).toHaveLength(4);
    expect(alerts.recent().map((r) => r.key)).toEqual([
      'store.down',
      'node.down:n2',
      'node.down:n1',
      'store.down',
      'store.down',
    ]);
  });

  it('refuses bad target options with a TypeError naming the option, before anything starts', async () => {
    const base = { jwtSecret: 'x'.repeat(32), logger: false as const };
    await expect(createTetherServer({ ...base, alerts: { discord: { url: 'ftp://x' } } })).rejects.toThrow(
      /alerts\.discord\.url must be an http\(s\) URL/,
    );
    await expect(
      createTetherServer({ ...base, alerts: { webhook: { url: 'https://x.example', secret: 'whsec_c2hvcnQ=' } } }),
    ).rejects.toThrow(/alerts\.webhook\.secret must be whsec_/);
    await expect(
      createTetherServer({ ...base, alerts: { email: { host: 'smtp.example', from: 'a@b.c', to: [] } } }),
    ).rejects.toThrow(/alerts\.email\.to/);
    await expect(createTetherServer({ ...base, alerts: { cooldownMs: 0 } })).rejects.toThrow(/alerts\.cooldownMs/);
    await expect(createTetherServer({ ...base, alerts: { deliveryRatioBelow: 1.5 } })).rejects.toThrow(
      /alerts\.deliveryRatioBelow/,
    );
  });
});
