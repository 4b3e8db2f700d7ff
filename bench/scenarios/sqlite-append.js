/**
 * The SQLite store's append path alone (no server, no sockets): `--appends` appends of one message,
 * each to a distinct stream (an inbox), issued `--per-turn` per event-loop turn as the Publisher
 * flushes many channels in one turn; the next turn starts once they all resolved. Fresh file per run.
 *
 *   npm run build && node bench/scenarios/sqlite-append.js [--appends 2000] [--per-turn 50] [--runs 2]
 *       [--module packages/server/dist/store/sqlite-store.js] [--existing]
 *
 * `--existing` writes one message to every stream before the clock starts, so that the timed appends
 * go to streams that exist (the steady state of an inbox) rather than create them.
 * `--module` names a built `sqlite-store.js` exporting `SqliteLogStore`, so that two builds (e.g. the
 * one of main, compiled beside it) can be compared on the same machine. Prints appends/s and µs per
 * append for each run. Bounded by `--appends`; stops by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    appends: { type: 'string', default: '2000' },
    'per-turn': { type: 'string', default: '50' },
    runs: { type: 'string', default: '2' },
    module: { type: 'string', default: 'packages/server/dist/store/sqlite-store.js' },
    existing: { type: 'boolean', default: false },
  },
});
const appends = Number(values.appends);
const perTurn = Number(values['per-turn']);
const runs = Number(values.runs);
const { SqliteLogStore } = await import(pathToFileURL(resolve(values.module)).href);

const nextTurn = () => new Promise((done) => setImmediate(done));

for (let run = 1; run <= runs; run += 1) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-sqlite-'));
  const store = new SqliteLogStore(join(dir, 'bench.db'));
  try {
    if (values.existing) {
      for (let s = 0; s < appends; s += 1)
        await store.append(`t/inbox:${s}`, [{ id: `w${s}`, type: 'w', data: 0, ts: Date.now() }]);
    }
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < appends;) {
      const calls = [];
      for (let i = 0; i < perTurn && sent < appends; i += 1, sent += 1) {
        calls.push(
          store.append(`t/inbox:${sent}`, [{ id: `m${sent}`, type: 'offer', data: { n: sent }, ts: Date.now() }]),
        );
      }
      await Promise.all(calls);
      await nextTurn();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const stats =
      typeof store.commitStats === 'object' ? ` (transactions so far: ${store.commitStats.transactions})` : '';
    console.log(
      `${values.module} run ${run}: ${appends} appends, ${perTurn}/turn${values.existing ? ', existing streams' : ''}: ` +
        `${Math.round(appends / seconds)} appends/s, ${((seconds * 1e6) / appends).toFixed(1)} µs/append${stats}`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
