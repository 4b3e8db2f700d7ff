/** Shared by the alert tests: an `Alerts` with a silent log, and a sample event. */
import { pino } from 'pino';
import { Alerts } from '../../src/alerts/alerts.js';
import type { AlertOptions } from '../../src/alerts/options.js';
import type { AlertEvent } from '../../src/alerts/types.js';

export function alertsWith(options: AlertOptions, now: () => number = Date.now): Alerts {
  return new Alerts({ options, log: pino({ level: 'silent' }), now, nodeName: () => 'node-a' });
}

export const storeDown: AlertEvent = {
  kind: 'store.down',
  severity: 'critical',
  title: 'Tether store (redis) is down',
  text: 'The redis store does not answer.',
  fields: { store: 'redis', error: 'connection refused' },
};

/** Resolves once `check` holds, polling every 10 ms of real time, or rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
