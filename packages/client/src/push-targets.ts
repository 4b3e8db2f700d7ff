/**
 * Push-target registration over HTTP (`POST` / `DELETE /v1/push/devices`, docs/push.md): the
 * platform's token (an FCM registration token, a Web Push subscription as JSON) goes to the
 * server, which pushes critical events to it when no connection of the user could take them.
 */
import { ErrorCode, TetherError, isErrorCode } from '@tether/protocol/wire';
import type { HttpPushRegisterReply, HttpPushUnregisterReply } from '@tether/protocol/wire';
import type { FetchFunction } from './options.js';

export interface PushTarget {
  /** The server's provider name: `fcm`, `webpush`, or the app's own. */
  provider: string;
  /** FCM: the registration token; Web Push: `JSON.stringify(pushSubscription)`. */
  token: string;
  /** Default: this client's device id (a new token of this device replaces its old one). */
  deviceId?: string;
}

/** Which targets `unregisterPush` removes: one (provider and token), or all of a device. */
export type PushTargetMatch = { provider: string; token: string } | { deviceId: string };

export interface PushRegistration {
  provider: string;
  deviceId: string;
  /** Older targets of the user the server dropped to stay within its bound. */
  evicted: number;
}

export interface PushTargetsHost {
  url: string;
  fetch: FetchFunction | undefined;
  token(): Promise<string>;
}

export async function registerPushTarget(
  host: PushTargetsHost,
  target: Required<PushTarget>,
): Promise<PushRegistration> {
  const reply = (await call(host, 'POST', target)) as HttpPushRegisterReply;
  return { ...reply.registered, evicted: reply.evicted };
}

export async function unregisterPushTarget(host: PushTargetsHost, match: PushTargetMatch): Promise<number> {
  return ((await call(host, 'DELETE', match)) as HttpPushUnregisterReply).removed;
}

async function call(host: PushTargetsHost, method: 'POST' | 'DELETE', body: unknown): Promise<unknown> {
  const fetchFn = host.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchFunction | undefined);
  if (!fetchFn) throw new TypeError('TetherClient: no fetch available to register push targets');
  const response = await fetchFn(`${host.url}/v1/push/devices`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await host.token()}` },
    body: JSON.stringify(body),
  });
  const json: unknown = await response.json().catch(() => undefined);
  if (response.ok) return json;
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = isErrorCode(error?.code) ? error.code : ErrorCode.ProtocolError;
  const message =
    typeof error?.message === 'string' ? error.message : `push target ${method} answered ${response.status}`;
  throw new TetherError(code, message);
}
