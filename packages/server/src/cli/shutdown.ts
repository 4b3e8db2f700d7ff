/**
 * Graceful shutdown on SIGTERM / SIGINT: the first signal closes the server (stop accepting,
 * finish writes, close sockets so that clients reconnect elsewhere and resume) and exits 0; a
 * second signal, or a close that takes longer than `timeoutMs`, exits at once.
 */
import { constants } from 'node:os';
import type { Logger } from 'pino';

export interface ShutdownOptions {
  close: () => Promise<void>;
  log: Logger;
  /** Longest graceful close before giving up with exit code 1. Default 10_000. */
  timeoutMs?: number;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
}

/** Installs the handlers; returns a function that removes them. */
export function exitOnSignals(options: ShutdownOptions): () => void {
  const { close, log } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let closing = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    closing = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'graceful shutdown timed out');
      exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => {
        clearTimeout(timer);
        log.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };

  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
