/** Gathers what a socket receives, for assertions on order, offsets and resyncs. */
import type { MsgFrame, ResyncFrame } from '@tether/protocol';
import { DEFAULT_WAIT_MS, listenerApi, type Listenable } from './wait.js';

export interface CollectedMessage {
  channel: string;
  offset: number;
  type: string;
  data: unknown;
}

export interface MessageCollector {
  /** Every message of every `msg` frame, in arrival order (duplicates kept: they are evidence). */
  readonly messages: CollectedMessage[];
  /** The `msg` frames as received (epoch, upTo, full envelopes). */
  readonly frames: MsgFrame[];
  readonly resyncs: ResyncFrame[];
  /** Offsets received on `channel`, in arrival order. */
  offsets(channel: string): number[];
  /** Resolves once `count` messages (of `channel`, if given) have arrived; rejects after the timeout. */
  waitForCount(count: number, options?: { channel?: string; timeoutMs?: number }): Promise<CollectedMessage[]>;
  /** Resolves with the first message, already here or still to come, that matches. */
  waitFor(predicate: (m: CollectedMessage) => boolean, timeoutMs?: number): Promise<CollectedMessage>;
  /** Forgets what was collected so far. */
  clear(): void;
  /** Stops listening. */
  stop(): void;
}

export function collectMessages(emitter: Listenable): MessageCollector {
  const socket = listenerApi(emitter);
  const messages: CollectedMessage[] = [];
  const frames: MsgFrame[] = [];
  const resyncs: ResyncFrame[] = [];
  // Pending waits re-check themselves after every frame.
  const watchers = new Set<() => void>();
  const notify = (): void => watchers.forEach((check) => check());

  const onMsg = (frame: MsgFrame): void => {
    frames.push(frame);
    for (const m of frame.messages) {
      messages.push({ channel: frame.channel, offset: m.offset, type: m.type, data: m.data });
    }
    notify();
  };
  const onResync = (frame: ResyncFrame): void => {
    resyncs.push(frame);
    notify();
  };
  socket.on('msg', onMsg as (...args: never[]) => void);
  socket.on('resync', onResync as (...args: never[]) => void);

  function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        const value = check();
        if (value === undefined) return;
        watchers.delete(run);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        watchers.delete(run);
        reject(new Error(`collectMessages: ${what} within ${timeoutMs} ms (have ${messages.length} messages)`));
      }, timeoutMs);
      watchers.add(run);
      run();
    });
  }

  return {
    messages,
    frames,
    resyncs,
    offsets: (channel) => messages.filter((m) => m.channel === channel).map((m) => m.offset),
    waitForCount: (count, options = {}) =>
      until(
        () => {
          const list = options.channel ? messages.filter((m) => m.channel === options.channel) : messages;
          return list.length >= count ? list.slice() : undefined;
        },
        options.timeoutMs ?? DEFAULT_WAIT_MS,
        `no ${count} messages${options.channel ? ` on ${options.channel}` : ''}`,
      ),
    waitFor: (predicate, timeoutMs = DEFAULT_WAIT_MS) =>
      until(() => messages.find(predicate), timeoutMs, 'no matching message'),
    clear: () => {
      messages.length = 0;
      frames.length = 0;
      resyncs.length = 0;
    },
    stop: () => {
      socket.off('msg', onMsg as (...args: never[]) => void);
      socket.off('resync', onResync as (...args: never[]) => void);
    },
  };
}
