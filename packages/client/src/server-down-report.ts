/**
 * The `reportUrl` option: when the SDK decides the server is down (the `serverDown` event), it
 * POSTs a small JSON report to the app's own backend, which forwards it to its alerting
 * (docs/client.md). Once per outage, bounded by a timeout, and never throws: a report that cannot
 * be sent is logged at debug level and dropped (the server is down; the backend may be too).
 */
import type { TetherError } from '@tether/protocol/wire';
import type { FetchFunction, Logger } from './options.js';

/** A report unanswered by then is abandoned. */
export const REPORT_TIMEOUT_MS = 5000;

/** The JSON body POSTed to `reportUrl`. */
export interface ServerDownReport {
  /** Consecutive failed connection attempts when the SDK decided. */
  attempts: number;
  /** The server's last refusal, or what failed when it did not answer (`code` is then `unreachable`). */
  lastError: { code: string; message: string };
  /** When the connection was lost (or the first attempt failed), ms since the epoch. */
  since: number;
  deviceId: string;
  /** The Tether server the SDK could not reach. */
  url: string;
}

export class ServerDownReporter {
  private reportedSince: number | undefined;

  constructor(
    private readonly reportUrl: string,
    private readonly fetchFn: FetchFunction | undefined,
    private readonly logger: Logger,
  ) {}

  /** Sends the report unless this outage (`since`) was already reported. */
  report(report: ServerDownReport): void {
    if (this.reportedSince === report.since) return;
    this.reportedSince = report.since;
    const fetchFn = this.fetchFn ?? (globalThis.fetch?.bind(globalThis) as FetchFunction | undefined);
    if (!fetchFn) return this.logger.debug('serverDown report: no fetch available');
    void this.send(fetchFn, report);
  }

  private async send(fetchFn: FetchFunction, report: ServerDownReport): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REPORT_TIMEOUT_MS);
    try {
      const response = await fetchFn(this.reportUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(report),
        signal: controller.signal,
        keepalive: true,
      });
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) this.logger.debug('serverDown report refused', { status: response.status });
    } catch (err) {
      this.logger.debug('serverDown report not sent', { error: String(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `lastError` of a report: the refusal, or the link's own message when the server did not answer. */
export function lastErrorOf(error: TetherError | undefined, message: string): ServerDownReport['lastError'] {
  return error ? { code: error.code, message: error.message } : { code: 'unreachable', message };
}
