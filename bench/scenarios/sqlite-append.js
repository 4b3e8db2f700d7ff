/**
 * The SQLite store's append path alone (no server, no sockets): `--appends` appends of one message,
 * each to a distinct stream (an inbox), issued `--per-turn` per event-loop turn as the Publisher
 * flushes many channels in one turn; the next turn starts once they all resolved. Fresh file per run.
 *
 *   npm run build && node bench/scenarios/sqlite-append.js [--appends 2000] [--per-turn 50] [--runs 2]
 *       [--module packages/server/dist/store/sqlite-store.js] [--existing] [--streams N] [--server-ids]
 *
 * `--existing` writes one message to every stream before the clock starts, so that the timed appends
 * go to streams that exist (the steady state of an inbox) rather than create them.
 * `--streams N` sends each append to one of N streams picked at random (the `inbox` scenario's
 * pattern; with `--existing`, all N exist first); `--server-ids` appends with `idempotent: false`
 * (no key row), as `server.publish` without an id does. Every message carries ~200 B of data.
 * `--module` names a built `sqlite-store.js` exporting `SqliteLogStore`, so that two builds (e.g. the
 * one of main, compiled beside it) can be compared on the same machine. Prints appends/s, wall and CPU
 * µs per append for each run. Bounded by `--appends`; stops by itself.
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
    streams: { type: 'string', default: '0' },
    'server-ids': { type: 'boolean', default: false },
  },
});
const appends = Number(values.appends);
const perTurn = Number(values['per-turn']);
// 0: every append to its own stream; N: each append to one of N streams at random (inboxes in steady state).
const streamCount = Number(values.streams) || appends;
const streamOfAppend = (sent) => (Number(values.streams) > 0 ? Math.floor(Math.random() * streamCount) : sent);
const runs = Number(values.runs);
// `--server-ids`: ids the server made up (`idempotent: false`, no key row), as `server.publish` without an id.
const keyed = !values['server-ids'];
/** ~200 B of data, as in the inbox scenario. */
const PAD = 'x'.repeat(150);
const { SqliteLogStore } = await import(pathToFileURL(resolve(values.module)).href);

const nextTurn = () => new Promise((done) => setImmediate(done));

for (let run = 1; run <= runs; run += 1) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-sqlite-'));
  const store = new SqliteLogStore(join(dir, 'bench.db'));
  try {
    if (values.existing) {
      for (let s = 0; s < streamCount; s += 1)
        await store.append(`t/inbox:${s}`, [{ id: `w${s}`, type: 'w', data: 0, ts: Date.now() }]);
    }
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    for (let sent = 0; sent < appends;) {
      const calls = [];
      for (let i = 0; i < perTurn && sent < appends; i += 1, sent += 1) {
        calls.push(
          store.append(`t/inbox:${streamOfAppend(sent)}`, [
            { id: `m${sent}`, type: 'offer', data: { n: sent, pad: PAD }, ts: Date.now(), idempotent: keyed },
          ]),
        );
      }
      await Promise.all(calls);
      await nextTurn();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    const cpuMicros = (cpu.user + cpu.system) / appends;
    const stats =
      typeof store.commitStats === 'object' ? ` (transactions so far: ${store.commitStats.transactions})` : '';
    console.log(
      `${values.module} run ${run}: ${appends} appends, ${perTurn}/turn${values.existing ? ', existing streams' : ''}: ` +
        `${Math.round(appends / seconds)} appends/s, ${((seconds * 1e6) / appends).toFixed(1)} µs/append, ` +
        `CPU ${cpuMicros.toFixed(1)} µs/append (user ${(cpu.user / appends).toFixed(1)}, system ${(cpu.system / appends).toFixed(1)})${stats}`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
