/** Shared pieces of the LogStore conformance suite (see conformance.ts). */
import { expect } from 'vitest';
import { TetherError } from '@tether/protocol';
import type { AppendInput, LogStore, RetentionOptions, StoredMessage } from '../../src/store/types.js';

export type MakeStore = (retention?: Partial<RetentionOptions>) => Promise<LogStore> | LogStore;

export interface ConformanceOptions {
  /**
   * For persistent engines: opens a new store on the data of the store most recently made by
   * `makeStore` (sqlite: the same file). The suite closes that store before calling it.
   */
  reopen?: MakeStore;
  /**
   * How many streams the engine holds for `store`, looked at from outside the LogStore API (sqlite:
   * rows of its file; redis: keys under its prefix; memory: its count). Lets the suite check that
   * reads store nothing.
   */
  storedStreams: (store: LogStore) => Promise<number> | number;
}

/** What a section of the suite gets: store factories that the suite cleans up after each test. */
export interface ConformanceContext {
  make(retention?: Partial<RetentionOptions>): Promise<LogStore>;
  /** Closes `store` and reopens its data; undefined for engines without persistence. */
  reopen: ((store: LogStore, retention?: Partial<RetentionOptions>) => Promise<LogStore>) | undefined;
  storedStreams: (store: LogStore) => Promise<number>;
}

/** A realistic publish time: engines that look at the wall clock still see fresh messages. */
export const T0 = Date.now();

export function input(id: string, extra: Partial<AppendInput> = {}): AppendInput {
  return { id, type: 'test', data: { id }, ts: T0, ...extra };
}

export function inputs(prefix: string, count: number, extra: Partial<AppendInput> = {}): AppendInput[] {
  return Array.from({ length: count }, (_, i) => input(`${prefix}${i}`, extra));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

export function offsetsOf(messages: readonly StoredMessage[]): number[] {
  return messages.map((m) => m.offset);
}

/** All retained messages of a stream, read in pages to also exercise paging. */
export async function readAll(store: LogStore, stream: string): Promise<StoredMessage[]> {
  const all: StoredMessage[] = [];
  let after = 0;
  for (;;) {
    const page = await store.read(stream, after, 7);
    if (page.messages.length === 0) return all;
    all.push(...page.messages);
    const last = page.messages[page.messages.length - 1]?.offset ?? after;
    // A read that does not move forward would loop forever; fail instead.
    if (last <= after) throw new Error(`read(${after}) returned offsets up to ${last} only`);
    after = last;
  }
}

export async function expectStoreUnavailable(operation: Promise<unknown>): Promise<void> {
  const error: unknown = await operation.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(TetherError);
  expect(error).toMatchObject({ code: 'store_unavailable' });
}
