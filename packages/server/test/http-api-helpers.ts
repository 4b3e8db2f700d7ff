/**
 * What the HTTP API tests share: one real server per test file, and the calls they make against it
 * with real `fetch` (the answer's status, body and content type, as a client sees them).
 */
import { expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { connectClient, startServer, type TestClient, type TestServer } from '@tether/testing';
import {
  errorCodes,
  httpStatusOf,
  type ErrorCode,
  type PollChannelMessages,
  type PollChannelResync,
  type PollResponse,
} from '@tether/protocol';

export const MAX_PAYLOAD = 1024;

export interface HttpAnswer {
  status: number;
  body: unknown;
  contentType: string | null;
}

export interface RequestOptions {
  /** The `Authorization` header as is; `undefined` sends none. */
  authorization?: string;
  /** A raw body (sent as is); otherwise `json` is serialised. */
  raw?: string;
  json?: unknown;
  contentType?: string;
  method?: string;
}

export interface PublishAnswer {
  offset: number;
  epoch: string;
  duplicate: boolean;
}

export const bearer = (credential: string): string => `Bearer ${credential}`;

export const fresh = (prefix: string): string => `${prefix}:${randomUUID().slice(0, 8)}`;

/** Asserts the documented error shape and status, and returns the message. */
export function expectError(answer: HttpAnswer, code: ErrorCode): string {
  expect(answer.body, `body of a ${answer.status} answer`).toMatchObject({ error: { code } });
  expect(answer.status).toBe(httpStatusOf[code]);
  expect(answer.contentType).toMatch(/application\/json/);
  const error = (answer.body as { error: { code: string; message: unknown } }).error;
  expect(errorCodes).toContain(error.code);
  expect(typeof error.message).toBe('string');
  expect(Object.keys(answer.body as object)).toEqual(['error']);
  return error.message as string;
}

export function okBody<T>(answer: HttpAnswer): T {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as T;
}

export function messagesOf(entry: PollChannelMessages | PollChannelResync | undefined): PollChannelMessages {
  expect(entry, 'channel missing from the poll answer').toBeDefined();
  expect(entry).not.toHaveProperty('resync');
  return entry as PollChannelMessages;
}

/**
 * A server (`maxPayloadBytes` MAX_PAYLOAD) with a user token for `room:*` and `feed:*`, and the
 * HTTP calls; `start()` in `beforeAll`, `close()` in `afterAll`. The calls are arrow properties so
 * that a test file can take them out by name.
 */
export class HttpApiFixture {
  srv!: TestServer;
  userToken = '';
  /** A token that may read every channel: used to look at heads without going through the code under test twice. */
  private readAllToken = '';
  private readonly clients: TestClient[] = [];

  async start(): Promise<void> {
    this.srv = await startServer({ maxPayloadBytes: MAX_PAYLOAD });
    this.userToken = await this.srv.token({ sub: 'u1', channels: ['room:*', 'feed:*'] });
    this.readAllToken = await this.srv.token({ sub: 'observer', channels: ['*'] });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.srv?.close();
  }

  readonly request = async (path: string, options: RequestOptions = {}): Promise<HttpAnswer> => {
    const headers: Record<string, string> = {};
    if (options.authorization !== undefined) headers['authorization'] = options.authorization;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.json !== undefined) body = JSON.stringify(options.json);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await fetch(this.srv.url + path, { method: options.method ?? 'POST', headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Kept as text: the assertion shows it.
    }
    return { status: res.status, body: parsed, contentType: res.headers.get('content-type') };
  };

  readonly publish = (json: unknown, key = this.srv.apiKey): Promise<HttpAnswer> =>
    this.request('/v1/publish', { authorization: bearer(key), json });

  readonly poll = (json: unknown, token = this.userToken): Promise<HttpAnswer> =>
    this.request('/v1/poll', { authorization: bearer(token), json });

  readonly ack = (json: unknown, token = this.userToken): Promise<HttpAnswer> =>
    this.request('/v1/ack', { authorization: bearer(token), json });

  /** The channel's epoch and head (and what is retained), as the HTTP fallback reports them to a reader of everything. */
  readonly logOf = async (channel: string): Promise<PollChannelMessages> => {
    const answer = okBody<PollResponse>(
      await this.poll({ positions: { [channel]: { offset: 0 } } }, this.readAllToken),
    );
    return messagesOf(answer.channels[channel]);
  };

  readonly connected = async (token = this.userToken): Promise<TestClient> => {
    const c = await connectClient(this.srv.url, token);
    this.clients.push(c);
    return c;
  };
}
