/** The push-target registration bodies (`POST` / `DELETE /v1/push/devices`, docs/push.md). */
import { z } from 'zod';

/** A provider's name: `fcm`, `webpush`, or an app's own. */
export const pushProviderName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'invalid provider name');
/** FCM registration token, a Web Push subscription as JSON text, …: opaque here, checked by its provider. */
export const pushToken = z.string().min(1).max(4096);
export const pushDeviceId = z.string().min(1).max(128);

export const httpPushRegisterSchema = z.strictObject({
  provider: pushProviderName,
  token: pushToken,
  /** Default: the token itself names the device (a device sending a new token adds a target). */
  deviceId: pushDeviceId.optional(),
});
export type HttpPushRegisterBody = z.infer<typeof httpPushRegisterSchema>;

export const httpPushUnregisterSchema = z.union([
  z.strictObject({ provider: pushProviderName, token: pushToken }),
  z.strictObject({ deviceId: pushDeviceId }),
]);
export type HttpPushUnregisterBody = z.infer<typeof httpPushUnregisterSchema>;

export interface HttpPushRegisterReply {
  registered: { provider: string; deviceId: string };
  /** Older targets of the user removed to stay within the server's bound. */
  evicted: number;
}

export interface HttpPushUnregisterReply {
  removed: number;
}
