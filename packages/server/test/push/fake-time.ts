/** Helpers for push tests that run fake timers beside real HTTP round trips. */
import { vi } from 'vitest';

/** Lets real I/O (HTTP round trips) run while timers are fake. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits (up to 5 s of real time) for `check`, running due zero-delay timers and real I/O meanwhile. */
export async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    if (check()) return;
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}
