/**
 * The types of the browser bundle `@tether/client/bundle` (dist/tether-client.browser.js): the
 * bundle is built from index.ts, so its API is the package's. Compiled by `tsc -b`, so the types
 * exist as soon as the packages are built, before the bundle itself.
 */
export * from './index.js';
