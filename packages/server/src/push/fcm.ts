/**
 * The FCM HTTP v1 provider: one `POST {endpoint}/v1/projects/{projectId}/messages:send` per device
 * and attempt, authorised by an OAuth2 token from the service account (fcm-token.ts). FCM's answers
 * map onto the dispatcher's outcomes: 200 sent; 404 or `UNREGISTERED` gone (the token is dropped);
 * 429 and 5xx retry after `Retry-After`; a 401 gets one new token and one more try; any other
 * 4xx (`INVALID_ARGUMENT`, `SENDER_ID_MISMATCH`…) failed.
 */
import type { PushDevice, PushNotice, PushOutcome, PushProvider } from './provider.js';
import { fcmMessageBody, type FcmNotification } from './fcm-message.js';
import { loadServiceAccount, type FcmServiceAccount } from './fcm-service-account.js';
import { FcmAccessTokens, FcmTokenError } from './fcm-token.js';
import { retryAfterMs } from './retry-after.js';

export type { FcmServiceAccount } from './fcm-service-account.js';
export type { FcmNotification } from './fcm-message.js';

export interface FcmProviderOptions {
  /** The service-account JSON: a file path, or its parsed content. Required. */
  serviceAccount: string | FcmServiceAccount;
  /** The Firebase project. Default: the service account's `project_id`. */
  projectId?: string;
  /** Base URL of the FCM API. Default `https://fcm.googleapis.com`. */
  endpoint?: string;
  /** The OAuth2 token endpoint. Default: the service account's `token_uri`, else `https://oauth2.googleapis.com/token`. */
  tokenUri?: string;
  /** Longest wait for one HTTP answer (token or send), ms. Default 10 000. */
  timeoutMs?: number;
  /** A visible notification for a notice (code, library only). Default none: a data message the app shows itself. */
  notification?: (notice: PushNotice) => FcmNotification | undefined;
  /** Clock, ms since the epoch (token expiry, message ttl). Default `Date.now`. */
  now?: () => number;
}

export const fcmDefaults = {
  endpoint: 'https://fcm.googleapis.com',
  tokenUri: 'https://oauth2.googleapis.com/token',
  timeoutMs: 10_000,
} as const;

/** Where FCM puts its own error code: `error.details[]` of this type. */
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

interface FcmError {
  status: number;
  /** `error.status`, e.g. `NOT_FOUND`, `INVALID_ARGUMENT`. */
  grpcStatus: string | undefined;
  /** The FcmError detail's `errorCode`, e.g. `UNREGISTERED`, `QUOTA_EXCEEDED`. */
  errorCode: string | undefined;
  message: string;
}

/** Checks the options (and the service account) at once; a mistake is a `TypeError`. */
export function createFcmProvider(options: FcmProviderOptions): PushProvider {
  const account = loadServiceAccount(options.serviceAccount);
  const endpoint = (options.endpoint ?? fcmDefaults.endpoint).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(endpoint)) throw new TypeError(`fcm endpoint must be an http(s) URL, got ${endpoint}`);
  const tokenUri = options.tokenUri ?? account.tokenUri ?? fcmDefaults.tokenUri;
  if (!/^https?:\/\//.test(tokenUri)) throw new TypeError(`fcm tokenUri must be an http(s) URL, got ${tokenUri}`);
  const timeoutMs = options.timeoutMs ?? fcmDefaults.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`fcm timeoutMs must be a whole number > 0, got ${timeoutMs}`);
  }
  const projectId = options.projectId ?? account.projectId;
  const now = options.now ?? Date.now;
  const tokens = new FcmAccessTokens(account, tokenUri, timeoutMs, now);
  const sendUrl = `${endpoint}/v1/projects/${encodeURIComponent(projectId)}/messages:send`;

  async function post(body: string, accessToken: string): Promise<Response> {
    return fetch(sendUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  async function send(notice: PushNotice, device: PushDevice | undefined): Promise<PushOutcome> {
    if (!device) return { result: 'failed', error: 'fcm: a push needs a device (its registration token)' };
    if (notice.expiresAt !== undefined && notice.expiresAt <= now()) {
      return { result: 'failed', error: 'fcm: the message expired before it was sent' };
    }
    const message = fcmMessageBody(notice, device.token, options.notification?.(notice), now());
    if (!message) return { result: 'failed', error: 'fcm: over 4096 bytes even without the message data' };
    const body = JSON.stringify(message);
    try {
      let accessToken = await tokens.get();
      let response = await post(body, accessToken);
      if (response.status === 401) {
        // Revoked or expired early: one new token, one more try; a second 401 is a configuration fault.
        await response.body?.cancel();
        tokens.invalidate(accessToken);
        accessToken = await tokens.get();
        response = await post(body, accessToken);
      }
      return await outcomeOf(response, now());
    } catch (err) {
      if (err instanceof FcmTokenError) return err.outcome;
      return { result: 'retry', afterMs: undefined, error: `fcm: ${sendUrl} unreachable: ${(err as Error).message}` };
    }
  }

  return { name: 'fcm', perDevice: true, send };
}

async function outcomeOf(response: Response, now: number): Promise<PushOutcome> {
  if (response.ok) {
    await response.body?.cancel();
    return { result: 'sent' };
  }
  const error = parseFcmError(response.status, await response.text());
  const text = `fcm: ${error.status} ${error.errorCode ?? error.grpcStatus ?? ''} ${error.message}`
    .replace(/\s+/g, ' ')
    .trim();
  if (error.status === 404 || error.errorCode === 'UNREGISTERED') return { result: 'gone', error: text };
  if (error.status === 429 || error.status >= 500) {
    return { result: 'retry', afterMs: retryAfterMs(response.headers.get('retry-after'), now), error: text };
  }
  return { result: 'failed', error: text };
}

/** Google's error envelope: `{error: {code, message, status, details: [{"@type", errorCode}]}}`. */
function parseFcmError(status: number, text: string): FcmError {
  const error: FcmError = { status, grpcStatus: undefined, errorCode: undefined, message: text.slice(0, 200) };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return error;
  }
  const inner = (json as { error?: unknown } | null)?.error;
  if (typeof inner !== 'object' || inner === null) return error;
  const { message, status: grpcStatus, details } = inner as Record<string, unknown>;
  if (typeof message === 'string') error.message = message;
  if (typeof grpcStatus === 'string') error.grpcStatus = grpcStatus;
  if (Array.isArray(details)) {
    for (const detail of details as unknown[]) {
      const fields = detail as Record<string, unknown> | null;
      if (fields?.['@type'] === FCM_ERROR_TYPE && typeof fields.errorCode === 'string')
        error.errorCode = fields.errorCode;
    }
  }
  return error;
}
