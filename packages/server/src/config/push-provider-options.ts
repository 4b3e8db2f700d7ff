/**
 * The `push.fcm` and `push.webpush` sections of a checked file as provider options (secrets read
 * here, so a missing secret file or variable is a `ConfigError` at start).
 */
import type { FcmProviderOptions } from '../push/fcm.js';
import { loadServiceAccount, type FcmServiceAccount } from '../push/fcm-service-account.js';
import { ConfigError } from '../cli/errors.js';
import type { WebPushProviderOptions } from '../push/webpush.js';
import type { PushFcmSection } from './sections/push-fcm.js';
import type { PushWebPushSection } from './sections/push-webpush.js';
import { readSecret } from './sections/secret.js';

/**
 * The provider options; the service account is read and checked here too, so that a bad key file
 * is a `ConfigError` naming the file's field (`push.fcm.serviceAccountFile: …`), not the option.
 */
export function fcmProviderOptionsOf(section: PushFcmSection): FcmProviderOptions {
  const { serviceAccountFile, serviceAccount, ...rest } = section;
  // The schema lets exactly one of the two through.
  const source: string | FcmServiceAccount = serviceAccountFile ?? (serviceAccount as FcmServiceAccount);
  const field = serviceAccountFile === undefined ? 'push.fcm.serviceAccount' : 'push.fcm.serviceAccountFile';
  try {
    loadServiceAccount(source);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new ConfigError(`${field}: ${err.message.replace(/^fcm service account:? /, '')}`, { cause: err });
  }
  return { serviceAccount: source, ...rest };
}

export function webPushProviderOptionsOf(
  section: PushWebPushSection,
  env: NodeJS.ProcessEnv = process.env,
): WebPushProviderOptions {
  const { vapidPrivateKey, ...rest } = section;
  return { ...rest, vapidPrivateKey: readSecret(vapidPrivateKey, 'push.webpush.vapidPrivateKey', env) };
}
