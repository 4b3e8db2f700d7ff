/**
 * One JSON POST of an alert to an HTTP target, as a `SendOutcome`: 2xx is sent; 408, 429, 5xx and
 * network errors (a timeout included) are worth a retry, after the target's `Retry-After` when it
 * gave one; any other answer has failed.
 */
import { retryAfterMs } from '../push/retry-after.js';
import type { SendOutcome } from './types.js';

export interface PostAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * `retryAfter` reads a target-specific hint from a 429 answer (Discord's `retry_after` in its
 * body); the `Retry-After` header is the fallback.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  retryAfter?: (answer: PostAnswer) => number | undefined,
): Promise<SendOutcome> {
  let answer: PostAnswer;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    answer = { status: response.status, headers: response.headers, text: await response.text() };
  } catch (err) {
    return { result: 'retry', error: `unreachable: ${describe(err)}` };
  }
  const { status } = answer;
  if (status >= 200 && status < 300) return { result: 'sent' };
  const error = `answered ${status}${answer.text ? `: ${answer.text.slice(0, 200)}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    const afterMs = retryAfter?.(answer) ?? retryAfterMs(answer.headers.get('retry-after'), Date.now());
    return { result: 'retry', afterMs, error };
  }
  return { result: 'failed', error };
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`;
  }
  return String(err);
}

/** An http(s) URL, or a TypeError naming the option. */
export function checkHttpUrl(url: unknown, option: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(String(url));
  } catch {
    parsed = undefined;
  }
  if (typeof url !== 'string' || !parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TypeError(`${option} must be an http(s) URL`);
  }
  return url;
}
