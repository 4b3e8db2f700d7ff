/** Small pieces the fake external services (FCM, Web Push) share: bodies, JSON answers, closing. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/** The request body, at most `limit` bytes (a fake never needs more; a larger one is a test bug). */
export async function readBody(request: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function answerJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Closes the server and every kept-alive connection, so that `close` does not wait for idle sockets. */
export async function closeServer(server: Server | HttpsServer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** A scripted answer that replaces the normal one `times` times (default once). */
export interface ScriptedFailure {
  status: number;
  /** The `Retry-After` header, as sent (seconds or an HTTP date). */
  retryAfter?: string;
  times?: number;
}

/** Scripted failures by key (a token, an endpoint): each use consumes one. */
export class FailureScript {
  private readonly byKey = new Map<string, { failure: ScriptedFailure; left: number }>();

  add(key: string, failure: ScriptedFailure): void {
    this.byKey.set(key, { failure, left: failure.times ?? 1 });
  }

  take(key: string): ScriptedFailure | undefined {
    const entry = this.byKey.get(key);
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.byKey.delete(key);
    return entry.failure;
  }
}
