/**
 * Where the SDK keeps what must outlive a client instance: positions, the device id, and (when
 * asked) the publish queue. Values are strings (JSON); `load`/`save` may be sync or async so that
 * `localStorage`, IndexedDB wrappers, React Native's AsyncStorage or a file all fit.
 */

export interface KeyValueStorage {
  /** The stored value, or null/undefined when there is none. */
  load(key: string): string | null | undefined | Promise<string | null | undefined>;
  /** Stores a value; `null` removes the key. */
  save(key: string, value: string | null): void | Promise<void>;
}

/** `memory` (per instance), `localStorage` (browsers), or your own `{ load, save }`. */
export type StorageOption = 'memory' | 'localStorage' | KeyValueStorage;

export function memoryStorage(): KeyValueStorage {
  const values = new Map<string, string>();
  return {
    load: (key) => values.get(key) ?? null,
    save: (key, value) => {
      if (value === null) values.delete(key);
      else values.set(key, value);
    },
  };
}

/** The part of the Web Storage API the SDK uses. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The browser's `localStorage`; a quota error is reported, not thrown into the delivery path. */
export function webStorage(target: WebStorageLike, onError: (err: unknown) => void): KeyValueStorage {
  return {
    load: (key) => target.getItem(key),
    save: (key, value) => {
      try {
        if (value === null) target.removeItem(key);
        else target.setItem(key, value);
      } catch (err) {
        onError(err);
      }
    },
  };
}

export function resolveStorage(option: StorageOption, onError: (err: unknown) => void): KeyValueStorage {
  if (option === 'memory') return memoryStorage();
  if (option === 'localStorage') {
    const target = (globalThis as { localStorage?: WebStorageLike }).localStorage;
    if (!target)
      throw new TypeError("TetherClient: storage 'localStorage' is not available here; use 'memory' or your own");
    return webStorage(target, onError);
  }
  if (typeof option?.load !== 'function' || typeof option.save !== 'function') {
    throw new TypeError("TetherClient: `storage` must be 'memory', 'localStorage' or an object with load() and save()");
  }
  return option;
}

/** Parses stored JSON; anything unreadable counts as absent (a corrupt entry must not stop the client). */
export function parseStored(raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
