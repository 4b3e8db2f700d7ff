/** The log stores and `openStore`, which turns a spec string (CLI flag, option) into one. */
import { MemoryLogStore } from './memory-store.js';
import { SqliteLogStore } from './sqlite-store.js';
import type { LogStore, RetentionOptions } from './types.js';

export * from './types.js';
export { MemoryLogStore } from './memory-store.js';
export { SqliteLogStore } from './sqlite-store.js';
export { resolveRetention } from './store-support.js';

const SQLITE_PREFIX = 'sqlite:';

/**
 * Opens a store from its spec: `memory`, or `sqlite:PATH` (relative paths resolve against the
 * working directory; the parent directory is created). Throws a `TypeError` for anything else.
 */
export function openStore(spec: string, retention?: Partial<RetentionOptions>): LogStore {
  if (spec === 'memory') return new MemoryLogStore(retention);
  if (spec.startsWith(SQLITE_PREFIX)) {
    const path = spec.slice(SQLITE_PREFIX.length);
    if (path === '') throw new TypeError(`store spec "${spec}" names no file; expected sqlite:PATH`);
    return new SqliteLogStore(path, retention);
  }
  // The Redis engine joins here: `redis://…` / `rediss://…` → new RedisLogStore(spec, retention).
  throw new TypeError(
    `unknown store spec "${spec}"; expected "memory" or "sqlite:PATH" (e.g. sqlite:./data/tether.db)`,
  );
}
