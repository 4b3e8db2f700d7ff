/** Reading a SQLite store's files from a test, apart from the store. */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

let copies = 0;

/**
 * Messages in the data file alone (a copy of it without its write-ahead log, made in `scratchDir`):
 * what checkpoints moved there.
 */
export function messagesInDataFile(path: string, scratchDir: string): number {
  copies += 1;
  const copy = join(scratchDir, `copy-${copies}.db`);
  copyFileSync(path, copy);
  const raw = new Database(copy, { readonly: true });
  try {
    const table = raw.prepare("SELECT name FROM sqlite_master WHERE name = 'messages'").get();
    return table === undefined ? 0 : (raw.prepare<[], number>('SELECT count(*) FROM messages').pluck().get() ?? 0);
  } finally {
    raw.close();
  }
}
