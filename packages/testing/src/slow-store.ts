/**
 * Fault injection for the storage seam: wraps a real LogStore and delays its reads (and, if asked,
 * appends), so that races between replay and live publishes — which a fast in-process store hides —
 * happen in tests, as they do against a remote store.
 */
import type { AppendInput, AppendResult, LogStore, ReadResult, StreamInfo } from '@tether/server';

export interface SlowStoreOptions {
  /** Delay of each `read`, ms: a number or a function drawing one. Default 10. */
  readDelayMs?: number | (() => number);
  /** Delay of each `append`, ms. Default 0. */
  appendDelayMs?: number | (() => number);
}

export class SlowStore implements LogStore {
  readonly engine: string;

  constructor(
    private readonly inner: LogStore,
    private readonly options: SlowStoreOptions = {},
  ) {
    this.engine = `slow(${inner.engine})`;
  }

  async append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    await pause(this.options.appendDelayMs ?? 0);
    return this.inner.append(stream, inputs);
  }

  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    await pause(this.options.readDelayMs ?? 10);
    return this.inner.read(stream, after, limit);
  }

  info(stream: string): Promise<StreamInfo> {
    return this.inner.info(stream);
  }

  prune(now: number): Promise<number> {
    return this.inner.prune(now);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function pause(delay: number | (() => number)): Promise<void> {
  const ms = typeof delay === 'function' ? delay() : delay;
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
