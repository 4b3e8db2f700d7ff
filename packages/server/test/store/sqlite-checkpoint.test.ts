/**
 * The write-ahead log checkpointed by a worker thread (store/sqlite-checkpointer.ts), not inside a
 * commit on the event loop: the data file gets the messages, the log starts over once copied (so
 * the `-wal` file stays about one interval of writes), close() ends the worker and leaves a
 * complete file, and a bad interval is refused. Real SQLite files, a real worker thread.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@tether/testing';
import { SqliteLogStore } from '../../src/store/sqlite-store.js';
import { inputs } from './conformance-fixtures.js';
import { messagesInDataFile } from './sqlite-files.js';

let dir = '';
const opened: SqliteLogStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-checkpoint-'));
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** A store whose own (on-the-loop) checkpoint never comes: only the worker's, if any. */
function open(name: string, checkpointIntervalMs: number): SqliteLogStore {
  const store = new SqliteLogStore(join(dir, name), {}, {}, {}, { checkpointPages: 1_000_000, checkpointIntervalMs });
  opened.push(store);
  return store;
}

const walBytes = (path: string): number => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

/** Ten rounds of 100 inboxes × 3 messages; with `settle`, the worker gets to checkpoint after each. */
async function writeRounds(store: SqliteLogStore, settle: boolean): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const before = store.checkpointStats?.checkpoints ?? 0;
    for (let i = 0; i < 100; i++) await store.append(`user:${i}`, inputs(`r${round}-u${i}-`, 3));
    if (settle) await waitUntil(() => ((store.checkpointStats?.checkpoints ?? 0) > before ? true : undefined));
  }
}

describe('SQLite checkpoints off the event loop', () => {
  it('moves the messages into the data file and keeps the log to about one interval of writes', async () => {
    const background = open('background.db', 20);
    const none = open('none.db', 0);
    await writeRounds(background, true);
    await writeRounds(none, false);

    expect(none.checkpointStats).toBeUndefined();
    expect(messagesInDataFile(none.path, dir)).toBe(0);
    const stats = background.checkpointStats!;
    expect(stats.checkpoints).toBeGreaterThanOrEqual(10);
    expect(stats.failures).toBe(0);
    // The last one copied the whole log: the next commit starts it over.
    expect(stats.lastCopiedFrames).toBe(stats.lastLogFrames);
    expect(messagesInDataFile(background.path, dir)).toBe(3000);
    // Without checkpoints the log holds all ten rounds; with them, about one.
    expect(walBytes(background.path)).toBeLessThan(walBytes(none.path) / 4);
  });

  it('close() ends the worker and leaves the data file complete', async () => {
    const store = open('close.db', 10_000);
    await store.append('s', inputs('m', 500));
    await store.close();
    expect(walBytes(store.path)).toBe(0);
    expect(messagesInDataFile(store.path, dir)).toBe(500);
  });

  it('refuses an interval that is not a whole number of ms ≥ 0', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => new SqliteLogStore(join(dir, 'bad.db'), {}, {}, {}, { checkpointIntervalMs: bad })).toThrow(
        /sqliteCheckpointIntervalMs/,
      );
    }
  });
});
