/**
 * What FCM HTTP v1 accepts as a `messages:send` body, checked as strictly as FCM does: known field
 * names only (an unknown one is FCM's "Invalid JSON payload received. Unknown name"), exactly one
 * target, string values in `data`, `android.priority` normal/high, `android.ttl` a Duration string,
 * APNs headers as strings, and a payload of at most 4096 bytes. A mistake is the message FCM's
 * 400 INVALID_ARGUMENT would carry.
 */

const MESSAGE_FIELDS = [
  'name',
  'token',
  'topic',
  'condition',
  'data',
  'notification',
  'android',
  'webpush',
  'apns',
  'fcm_options',
];
const NOTIFICATION_FIELDS = ['title', 'body', 'image'];
const ANDROID_FIELDS = [
  'collapse_key',
  'priority',
  'ttl',
  'restricted_package_name',
  'data',
  'notification',
  'fcm_options',
  'direct_boot_ok',
];
const APNS_FIELDS = ['headers', 'payload', 'fcm_options'];
const RESERVED_DATA_KEYS = ['from', 'notification', 'message_type'];

/** FCM's limit on the payload (data and notification, as sent). */
export const FCM_MAX_PAYLOAD_BYTES = 4096;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownField(value: Record<string, unknown>, allowed: string[], at: string): string | undefined {
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  return extra === undefined
    ? undefined
    : `Invalid JSON payload received. Unknown name "${extra}" at '${at}': Cannot find field.`;
}

function stringMap(value: unknown, at: string): string | undefined {
  if (!isObject(value)) return `Invalid value at '${at}': expected a map of strings`;
  for (const [key, inner] of Object.entries(value)) {
    if (typeof inner !== 'string') return `Invalid value at '${at}[${key}]' (TYPE_STRING), ${JSON.stringify(inner)}`;
  }
  return undefined;
}

/** `undefined` when FCM would take `body`, else FCM's message for the 400. */
export function fcmBodyProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'Invalid JSON payload received. Expected an object.';
  const top = unknownField(body, ['message', 'validate_only'], '');
  if (top) return top;
  const message = body.message;
  if (!isObject(message)) return 'Request contains an invalid argument.';
  const problem = unknownField(message, MESSAGE_FIELDS, 'message');
  if (problem) return problem;
  const targets = ['token', 'topic', 'condition'].filter((key) => message[key] !== undefined);
  if (targets.length !== 1) return 'Recipient of the message is not set.';
  if (typeof message.token !== 'string' || message.token.length === 0)
    return 'The registration token is not a valid FCM registration token';
  if (message.data !== undefined) {
    const dataProblem = stringMap(message.data, 'message.data');
    if (dataProblem) return dataProblem;
    const reserved = Object.keys(message.data as object).find(
      (key) => RESERVED_DATA_KEYS.includes(key) || key.startsWith('google') || key.startsWith('gcm'),
    );
    if (reserved) return `Invalid data payload key: ${reserved}`;
  }
  if (message.notification !== undefined) {
    if (!isObject(message.notification)) return "Invalid value at 'message.notification'";
    const notificationProblem = unknownField(message.notification, NOTIFICATION_FIELDS, 'message.notification');
    if (notificationProblem) return notificationProblem;
  }
  if (message.android !== undefined) {
    const android = message.android;
    if (!isObject(android)) return "Invalid value at 'message.android'";
    const androidProblem = unknownField(android, ANDROID_FIELDS, 'message.android');
    if (androidProblem) return androidProblem;
    if (android.priority !== undefined && !['normal', 'high', 'NORMAL', 'HIGH'].includes(android.priority as string)) {
      return `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidConfig.AndroidMessagePriority), ${JSON.stringify(android.priority)}`;
    }
    if (android.ttl !== undefined && !(typeof android.ttl === 'string' && /^\d+(\.\d{1,9})?s$/.test(android.ttl))) {
      return `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(android.ttl)}`;
    }
    if (android.collapse_key !== undefined && typeof android.collapse_key !== 'string') {
      return "Invalid value at 'message.android.collapse_key' (TYPE_STRING)";
    }
  }
  if (message.apns !== undefined) {
    const apns = message.apns;
    if (!isObject(apns)) return "Invalid value at 'message.apns'";
    const apnsProblem = unknownField(apns, APNS_FIELDS, 'message.apns');
    if (apnsProblem) return apnsProblem;
    if (apns.headers !== undefined) {
      const headersProblem = stringMap(apns.headers, 'message.apns.headers');
      if (headersProblem) return headersProblem;
    }
    if (apns.payload !== undefined && !isObject(apns.payload)) return "Invalid value at 'message.apns.payload'";
  }
  const payload = {
    data: message.data,
    notification: message.notification,
    android: message.android,
    apns: message.apns,
  };
  if (Buffer.byteLength(JSON.stringify(payload)) > FCM_MAX_PAYLOAD_BYTES) return 'Message is too big';
  return undefined;
}
