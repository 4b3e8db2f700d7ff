/**
 * Push-target registration over HTTP (`POST` / `DELETE /v1/push/devices`, docs/push.md): the
 * platform's token (an FCM registration token, a Web Push subscription as JSON) goes to the
 * server, which pushes critical events to it when no connection of the user could take them.
 */
import type { HttpPushRegisterReply, HttpPushUnregisterReply } from '@tether/protocol/wire';
import { callServer, type ServerHttp } from './server-http.js';

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

/** Where targets are registered: the client's server, fetch and token. */
export type PushTargetsHost = ServerHttp;

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

function call(host: PushTargetsHost, method: 'POST' | 'DELETE', body: unknown): Promise<unknown> {
  return callServer(host, { method, path: '/v1/push/devices', what: `push target ${method}`, body });
}
