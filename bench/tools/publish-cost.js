/**
 * The server's publish path alone, in process: `createTetherServer` with no client connected,
 * `--messages` publishes (`server.publish`, no id, ~200 B of data, as in the `inbox` scenario), each
 * to one of `--users` inboxes at random, `--per-turn` at a time (the inbox publisher's 2 ms tick
 * at 8,000 msg/s), the next batch once they resolved. Prints CPU µs per publish (user + system of
 * the whole process) and wall µs. No socket is written: what is measured is door → publisher →
 * store → fan-out (ring, envelope), the part the store and delivery code decide.
 *
 *   node bench/tools/publish-cost.js [--store memory|sqlite] [--messages 60000] [--users 2000] [--per-turn 16] [--runs 2]
 *       [--module packages/server/dist/index.js]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'memory' },
    messages: { type: 'string', default: '60000' },
    users: { type: 'string', default: '2000' },
    'per-turn': { type: 'string', default: '16' },
    runs: { type: 'string', default: '2' },
    module: { type: 'string', default: 'packages/server/dist/index.js' },
  },
});
// `--module`: another build of the server (e.g. main's, compiled beside this one) for an A/B on one box.
const { createTetherServer, noLimits } = await import(pathToFileURL(join(process.cwd(), values.module)).href);
const messages = Number(values.messages);
const users = Number(values.users);
const perTurn = Number(values['per-turn']);
const PAD = 'x'.repeat(150);

for (let run = 1; run <= Number(values.runs); run += 1) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-publish-cost-'));
  const store = values.store === 'sqlite' ? `sqlite:${join(dir, 'bench.db')}` : 'memory';
  const server = await createTetherServer({ store, jwtSecret: 'x'.repeat(32), logger: false, limits: noLimits });
  await server.listen(0, '127.0.0.1');
  const publish = (seq) =>
    server.publish({
      tenant: 'bench',
      channel: `user:bench-${Math.floor(Math.random() * users)}`,
      type: 'tick',
      data: { seq, step: run, sentAt: Date.now(), pad: PAD },
    });
  try {
    // Every inbox written once first: the timed publishes find their channel state and stream.
    for (let u = 0; u < users; u += perTurn)
      await Promise.all(Array.from({ length: perTurn }, (_, i) => publish(u + i)));
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    for (let sent = 0; sent < messages;) {
      const batch = [];
      for (let i = 0; i < perTurn && sent < messages; i += 1, sent += 1) batch.push(publish(sent));
      await Promise.all(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const wall = Number(process.hrtime.bigint() - started) / 1e3 / messages;
    const cpu = process.cpuUsage(cpuStarted);
    console.log(
      `${values.store} run ${run}: ${messages} publishes to ${users} inboxes, ${perTurn}/turn: ` +
        `CPU ${((cpu.user + cpu.system) / messages).toFixed(1)} µs/publish (user ${(cpu.user / messages).toFixed(1)}, ` +
        `system ${(cpu.system / messages).toFixed(1)}), wall ${wall.toFixed(1)} µs/publish`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
