/** HS256 JWTs signed by hand with node:crypto: base64url(header).base64url(payload).HMAC-SHA256. */
import { createHmac } from 'node:crypto';

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64url({ alg: 'HS256', typ: 'JWT' });

/**
 * @param {Record<string, unknown>} claims e.g. `{sub, tenant, channels, exp}`
 * @param {string} secret
 */
export function signJwt(claims, secret) {
  const body = `${HEADER}.${b64url({ iat: Math.floor(Date.now() / 1000), ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
