import { LatencyFamily } from './latency.js';
import type { AppendInput, AppendResult, LogStore, ReadResult, StreamInfo } from '../store/types.js';

/** Seconds: 50 µs (memory) to a second (a Redis failover). */
const STORE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

type Observe = (seconds: number) => void;

/**
 * The store, timed: each append, read, info, prune and ping is observed in
 * `tether_store_operation_seconds{op, engine}` (failures included). Two clock reads and one
 * histogram increment per operation; the store itself is untouched.
 */
export class TimedStore implements LogStore {
  private readonly timeAppend: Observe;
  private readonly timeRead: Observe;
  private readonly timeInfo: Observe;
  private readonly timePrune: Observe;
  private readonly timePing: Observe;

  /** Rendered with the registry's metrics at scrape time (metrics.ts). */
  readonly histogram = new LatencyFamily(
    'tether_store_operation_seconds',
    'Store operation latency, by operation and engine (failures included).',
    STORE_BUCKETS,
  );

  /** The store's `appendNow` (when it has one), timed the same way. */
  readonly appendNow?: (stream: string, inputs: readonly AppendInput[]) => AppendResult[];

  constructor(private readonly store: LogStore) {
    const timer = (op: string): Observe => {
      const series = this.histogram.series({ op, engine: store.engine });
      return (seconds) => series.observe(seconds);
    };
    this.timeAppend = timer('append');
    this.timeRead = timer('read');
    this.timeInfo = timer('info');
    this.timePrune = timer('prune');
    this.timePing = timer('ping');
    const appendNow = store.appendNow?.bind(store);
    if (appendNow) {
      this.appendNow = (stream, inputs) => {
        const started = performance.now();
        try {
          return appendNow(stream, inputs);
        } finally {
          this.timeAppend((performance.now() - started) / 1000);
        }
      };
    }
  }

  get engine(): string {
    return this.store.engine;
  }

  get push(): LogStore['push'] {
    return this.store.push;
  }

  get readState(): LogStore['readState'] {
    return this.store.readState;
  }

  append(stream: string, inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    return timed(this.timeAppend, performance.now(), this.store.append(stream, inputs));
  }

  read(stream: string, after: number, limit: number): Promise<ReadResult> {
    return timed(this.timeRead, performance.now(), this.store.read(stream, after, limit));
  }

  info(stream: string): Promise<StreamInfo> {
    return timed(this.timeInfo, performance.now(), this.store.info(stream));
  }

  prune(now: number): Promise<number> {
    return timed(this.timePrune, performance.now(), this.store.prune(now));
  }

  ping(): Promise<void> {
    return timed(this.timePing, performance.now(), this.store.ping());
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** `started` is read before the call, so the store's synchronous work (memory, sqlite) is counted too. */
function timed<T>(observe: Observe, started: number, operation: Promise<T>): Promise<T> {
  const done = (): void => observe((performance.now() - started) / 1000);
  operation.then(done, done);
  return operation;
}
