/** The log stores and `openStore`, which turns a spec string (CLI flag, option) into one. */
import { MemoryLogStore } from './memory-store.js';
import { SqliteLogStore } from './sqlite-store.js';
import { RedisLogStore } from './redis-store.js';
import type { LogStore, RetentionOptions } from './types.js';
import type { SqliteFileOptions } from './sqlite-store.js';

export * from './types.js';
export * from './push-types.js';
export { MemoryLogStore } from './memory-store.js';
export { SqliteLogStore } from './sqlite-store.js';
export { RedisLogStore, redisStoreClientOptions, type RedisLogStoreOptions } from './redis-store.js';
export { resolveRetention } from './store-support.js';

const SQLITE_PREFIX = 'sqlite:';
const REDIS_URL = /^rediss?:\/\/./i;

/**
 * Opens a store from its spec: `memory`, `sqlite:PATH` (relative paths resolve against the
 * working directory; the parent directory is created), or a `redis://` / `rediss://` URL (the store
 * connects in the background; see RedisLogStore). `sqlite` applies to a `sqlite:` store only.
 * Throws a `TypeError` for anything else.
 */
export function openStore(
  spec: string,
  retention?: Partial<RetentionOptions>,
  sqlite: Partial<SqliteFileOptions> = {},
): LogStore {
  if (spec === 'memory') return new MemoryLogStore(retention);
  if (spec.startsWith(SQLITE_PREFIX)) {
    const path = spec.slice(SQLITE_PREFIX.length);
    if (path === '') throw new TypeError(`store spec "${spec}" names no file; expected sqlite:PATH`);
    return new SqliteLogStore(path, retention, {}, {}, sqlite);
  }
  if (REDIS_URL.test(spec)) return new RedisLogStore(spec, retention);
  throw new TypeError(
    `unknown store spec "${spec}"; expected "memory" or "sqlite:PATH" (e.g. sqlite:./data/tether.db) or a Redis URL (redis://HOST:PORT, rediss://…)`,
  );
}
