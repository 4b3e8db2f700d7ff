/**
 * The SDK's authenticated JSON calls to the server beside the poll loop (history, push targets):
 * one place that finds `fetch`, sends the user's token, reads the answer and turns a refusal into
 * the server's TetherError.
 */
import { ErrorCode, TetherError } from '@tether/protocol/wire';
import type { FetchFunction } from './options.js';
import { isRecord, refusalOf } from './socket-link.js';

export interface ServerHttp {
  url: string;
  fetch: FetchFunction | undefined;
  token(): Promise<string>;
}

export interface ServerCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/v1/history?channel=…`. */
  path: string;
  /** What the call is, for error messages (`history`, `push target POST`). */
  what: string;
  /** Sent as JSON when given. */
  body?: unknown;
  signal?: AbortSignal;
}

/** The answer's JSON body; a refusal rejects with the server's code, an unreadable answer with `protocol_error`. */
export async function callServer(host: ServerHttp, call: ServerCall): Promise<unknown> {
  const fetchFn = host.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchFunction | undefined);
  if (!fetchFn) throw new TetherError(ErrorCode.Internal, `${call.what}: no fetch available`);
  const headers: Record<string, string> = { authorization: `Bearer ${await host.token()}` };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetchFn(host.url + call.path, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    ...(call.signal ? { signal: call.signal } : {}),
  });
  let body: unknown;
  try {
    body = await response.json();
  } catch (err) {
    throw new TetherError(ErrorCode.ProtocolError, `unreadable ${call.what} answer (HTTP ${response.status})`, {
      cause: err,
    });
  }
  if (!response.ok) {
    throw (
      refusalOf(isRecord(body) ? body['error'] : undefined) ??
      new TetherError(ErrorCode.Internal, `${call.what} failed with HTTP ${response.status}`)
    );
  }
  return body;
}
