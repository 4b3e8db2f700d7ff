/** Waiting for events with a deadline, so that a test fails with a reason instead of hanging. */

/**
 * Anything with `on` / `off`: Node's EventEmitter, a socket.io-client socket. The methods are
 * typed as "any function" because typed emitters declare them generic per event name; the
 * caller's predicate narrows what it expects.
 */
export interface Listenable {
  on: (...args: never[]) => unknown;
  off: (...args: never[]) => unknown;
}

type Listener = (...args: never[]) => void;

/** The untyped view used inside this package. */
export function listenerApi(emitter: Listenable): {
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
} {
  return emitter as unknown as ReturnType<typeof listenerApi>;
}

export const DEFAULT_WAIT_MS = 5000;

/**
 * Resolves with the first argument of the first `event` for which `predicate` holds (every event
 * when there is no predicate); rejects after `timeoutMs` (default 5000).
 */
export function waitFor<T = unknown>(
  emitter: Listenable,
  event: string,
  predicate?: (value: T, ...rest: unknown[]) => boolean,
  timeoutMs: number = DEFAULT_WAIT_MS,
): Promise<T> {
  const api = listenerApi(emitter);
  return new Promise<T>((resolve, reject) => {
    const listener = (value: T, ...rest: unknown[]): void => {
      let matched: boolean;
      try {
        matched = predicate ? predicate(value, ...rest) : true;
      } catch (err) {
        done();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (!matched) return;
      done();
      resolve(value);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`waitFor: no matching '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      api.off(event, listener as Listener);
    };
    api.on(event, listener as Listener);
  });
}

/** Polls `check` until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number = DEFAULT_WAIT_MS,
  what = 'condition',
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`waitUntil: ${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
