/**
 * Channel and tenant name grammar. Names are checked at every entry point (socket frames, HTTP,
 * library API) so that a store key can never be forged across tenants.
 */

/**
 * Channel names: letters, digits and `_ - . : @ = +`, 1 to 200 characters. `/` is never allowed.
 * Nor is the name `__proto__`: channels are keys of JSON objects (`positions`, `acks`, poll answers),
 * where that key sets the object's prototype instead of adding an entry, so the channel would
 * silently vanish from the frame.
 */
export const CHANNEL_PATTERN = /^(?!__proto__$)[A-Za-z0-9_\-.:@=+]{1,200}$/;
/** Tenant names: letters, digits and `_ - .`, 1 to 64 characters. */
export const TENANT_PATTERN = /^[A-Za-z0-9_\-.]{1,64}$/;

export const DEFAULT_TENANT = 'default';
export const INBOX_PREFIX = 'user:';

export function isValidChannel(name: unknown): name is string {
  return typeof name === 'string' && CHANNEL_PATTERN.test(name);
}

export function isValidTenant(name: unknown): name is string {
  return typeof name === 'string' && TENANT_PATTERN.test(name);
}

/** The inbox channel of a user, subscribed automatically by each of its connections. */
export function inboxOf(sub: string): string {
  return INBOX_PREFIX + sub;
}
