/**
 * Local stand-ins for a Discord webhook and a Slack incoming webhook (real HTTP servers on
 * 127.0.0.1): each checks a POST against the service's documented JSON shape and limits, answers
 * as the service does (Discord: 204, or 400 `Invalid Form Body`; Slack: 200 `ok`, or 400
 * `invalid_blocks` / `no_text`), records every request, and can be scripted to answer 429 with the
 * service's rate-limit hint (Discord: `retry_after` in the JSON body; Slack: `Retry-After`).
 */
import http from 'node:http';
import { answerJson, closeServer, readBody } from './http-fake.js';
import { listenLoopback } from './listen.js';
import { waitUntil } from './wait.js';

export interface ChatDelivery {
  /** The body parsed (null when it was not JSON). */
  body: Record<string, unknown> | null;
  /** The shape problems found; empty when the service would take it. */
  problems: string[];
  /** The status answered. */
  status: number;
  headers: http.IncomingHttpHeaders;
}

export interface ChatReceiver {
  /** The webhook URL to configure. */
  readonly url: string;
  readonly deliveries: ChatDelivery[];
  /** Deliveries the service would have posted (valid shape, 2xx). */
  accepted(): ChatDelivery[];
  /** The next `times` requests get a 429 asking to retry after `retryAfterSeconds`. */
  rateLimit(retryAfterSeconds: number, times?: number): void;
  /** Resolves once `count` deliveries arrived (any answer), within `timeoutMs` of real time. */
  waitForCount(count: number, timeoutMs?: number): Promise<ChatDelivery[]>;
  close(): Promise<void>;
}

type Check = (body: Record<string, unknown>) => string[];

async function startChatReceiver(
  path: string,
  check: Check,
  answer: (response: http.ServerResponse, problems: string[], retryAfterSeconds: number | undefined) => number,
): Promise<ChatReceiver> {
  const deliveries: ChatDelivery[] = [];
  const limited: number[] = [];
  const server = http.createServer((request, response) => {
    void (async () => {
      const raw = (await readBody(request)).toString('utf8');
      let body: Record<string, unknown> | null = null;
      const problems: string[] = [];
      if (request.method !== 'POST') problems.push(`method ${request.method}`);
      if (request.url !== path) problems.push(`path ${request.url}`);
      if (!String(request.headers['content-type']).startsWith('application/json'))
        problems.push('not application/json');
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
          body = parsed as Record<string, unknown>;
        } else problems.push('body is not a JSON object');
      } catch {
        problems.push('body is not JSON');
      }
      if (body) problems.push(...check(body));
      const status = answer(response, problems, limited.shift());
      deliveries.push({ body, problems, status, headers: request.headers });
    })();
  });
  const port = await listenLoopback(server, 'chat webhook receiver');
  return {
    url: `http://127.0.0.1:${port}${path}`,
    deliveries,
    accepted: () => deliveries.filter((d) => d.problems.length === 0 && d.status >= 200 && d.status < 300),
    rateLimit(retryAfterSeconds, times = 1) {
      for (let i = 0; i < times; i++) limited.push(retryAfterSeconds);
    },
    waitForCount: (count, timeoutMs = 5000) =>
      waitUntil(() => (deliveries.length >= count ? deliveries : undefined), timeoutMs, `${count} deliveries`),
    close: () => closeServer(server),
  };
}

const isString = (value: unknown, max: number, min = 1): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;

/** Discord's execute-webhook rules for `content` and `embeds` (the fields Tether sends). */
export function discordProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { content, embeds, username } = body;
  if (content === undefined && embeds === undefined) problems.push('neither content nor embeds');
  if (content !== undefined && !isString(content, 2000, 0)) problems.push('content: a string of at most 2000');
  if (username !== undefined && !isString(username, 80)) problems.push('username: 1 to 80 characters');
  if (embeds === undefined) return problems;
  if (!Array.isArray(embeds) || embeds.length > 10) return [...problems, 'embeds: an array of at most 10'];
  let total = 0;
  embeds.forEach((embed: unknown, i) => {
    const e = embed as Record<string, unknown>;
    const at = `embeds[${i}]`;
    if (typeof embed !== 'object' || embed === null) return problems.push(`${at}: not an object`);
    if (e['title'] !== undefined && !isString(e['title'], 256)) problems.push(`${at}.title: at most 256`);
    if (e['description'] !== undefined && !isString(e['description'], 4096))
      problems.push(`${at}.description: at most 4096`);
    const color = e['color'];
    if (color !== undefined && !(Number.isInteger(color) && Number(color) >= 0 && Number(color) <= 0xffffff)) {
      problems.push(`${at}.color: an integer 0 to 0xFFFFFF`);
    }
    const timestamp = e['timestamp'];
    if (
      timestamp !== undefined &&
      !(typeof timestamp === 'string' && /^\d{4}-\d\d-\d\dT/.test(timestamp) && !Number.isNaN(Date.parse(timestamp)))
    ) {
      problems.push(`${at}.timestamp: ISO 8601`);
    }
    const fields = e['fields'];
    if (fields !== undefined) {
      if (!Array.isArray(fields) || fields.length > 25) problems.push(`${at}.fields: at most 25`);
      else
        fields.forEach((field: unknown, j) => {
          const f = field as Record<string, unknown>;
          if (!isString(f['name'], 256) || !isString(f['value'], 1024))
            problems.push(`${at}.fields[${j}]: name ≤ 256, value ≤ 1024`);
          if (f['inline'] !== undefined && typeof f['inline'] !== 'boolean')
            problems.push(`${at}.fields[${j}].inline: boolean`);
          total += String(f['name']).length + String(f['value']).length;
        });
    }
    const footer = e['footer'] as Record<string, unknown> | undefined;
    if (footer !== undefined && !isString(footer['text'], 2048)) problems.push(`${at}.footer.text: at most 2048`);
    total +=
      String(e['title'] ?? '').length + String(e['description'] ?? '').length + String(footer?.['text'] ?? '').length;
  });
  if (total > 6000) problems.push('embeds: more than 6000 characters in all');
  return problems;
}

/** Slack's incoming-webhook rules for `text` and the Block Kit blocks Tether sends. */
export function slackProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { text, blocks } = body;
  if (!isString(text, 40_000)) problems.push('no_text: text is the notification fallback');
  if (blocks === undefined) return problems;
  if (!Array.isArray(blocks) || blocks.length > 50) return [...problems, 'blocks: an array of at most 50'];
  const textObject = (value: unknown, types: string[], max: number): boolean => {
    const t = value as Record<string, unknown> | undefined;
    return typeof t === 'object' && t !== null && types.includes(String(t['type'])) && isString(t['text'], max);
  };
  blocks.forEach((block: unknown, i) => {
    const b = block as Record<string, unknown>;
    const at = `blocks[${i}]`;
    switch (b?.['type']) {
      case 'header':
        if (!textObject(b['text'], ['plain_text'], 150)) problems.push(`${at}: header text is plain_text ≤ 150`);
        break;
      case 'section': {
        const fields = b['fields'];
        if (b['text'] === undefined && fields === undefined) problems.push(`${at}: section needs text or fields`);
        if (b['text'] !== undefined && !textObject(b['text'], ['plain_text', 'mrkdwn'], 3000))
          problems.push(`${at}.text: ≤ 3000`);
        if (fields !== undefined) {
          if (!Array.isArray(fields) || fields.length > 10) problems.push(`${at}.fields: at most 10`);
          else if (!fields.every((f) => textObject(f, ['plain_text', 'mrkdwn'], 2000)))
            problems.push(`${at}.fields: text objects ≤ 2000`);
        }
        break;
      }
      case 'context': {
        const elements = b['elements'];
        if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10)
          problems.push(`${at}.elements: 1 to 10`);
        else if (!elements.every((e) => textObject(e, ['plain_text', 'mrkdwn'], 3000)))
          problems.push(`${at}.elements: text objects`);
        break;
      }
      case 'divider':
        break;
      default:
        problems.push(`${at}: unknown block type ${JSON.stringify(b?.['type'])}`);
    }
  });
  return problems;
}

export function startDiscordReceiver(): Promise<ChatReceiver> {
  return startChatReceiver('/api/webhooks/1234567890/test-token', discordProblems, (response, problems, retryAfter) => {
    if (retryAfter !== undefined) {
      answerJson(
        response,
        429,
        { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
        {
          'retry-after': String(Math.ceil(retryAfter)),
        },
      );
      return 429;
    }
    if (problems.length > 0) {
      answerJson(response, 400, { message: 'Invalid Form Body', code: 50035, errors: problems });
      return 400;
    }
    response.writeHead(204).end();
    return 204;
  });
}

export function startSlackReceiver(): Promise<ChatReceiver> {
  return startChatReceiver('/services/T000/B000/test-token', slackProblems, (response, problems, retryAfter) => {
    const text = (status: number, body: string, headers: Record<string, string> = {}): number => {
      response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
      return status;
    };
    if (retryAfter !== undefined) return text(429, 'rate_limited', { 'retry-after': String(retryAfter) });
    if (problems.length > 0)
      return text(400, problems.some((p) => p.startsWith('no_text')) ? 'no_text' : 'invalid_blocks');
    return text(200, 'ok');
  });
}
