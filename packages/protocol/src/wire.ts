/**
 * `@tether/protocol/wire`: everything a client needs — error codes, names, frame types and
 * dependency-free frame checks — without zod, for small browser bundles.
 */
export * from './errors.js';
export * from './names.js';
export * from './epochs.js';
export * from './guards.js';
export type * from './frames.js';
export type * from './push.js';
export * from './presence-guards.js';
export type * from './presence.js';
