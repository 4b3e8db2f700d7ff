/**
 * What one connection costs the V8 heap, by constructor, from the snapshots `idle --heap-snapshot`
 * writes before and after the clients connect:
 *
 *   node bench/tools/heap-by-constructor.js AFTER BEFORE N [AFTER2 BEFORE2 N2] [--top 40]
 *
 * Sums each snapshot's self sizes by class name (V8's name for objects; the node kind for strings,
 * arrays, closures, code…), subtracts the "before" sums and divides by the connections N: bytes
 * and objects per connection. With a second system (e.g. plain Socket.IO), prints both side by side
 * and the difference, largest first. Reads each snapshot whole: use a few thousand connections.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let top = 40;
const topAt = args.indexOf('--top');
if (topAt >= 0) top = Number(args.splice(topAt, 2)[1]);
if (args.length !== 3 && args.length !== 6) {
  console.error('usage: heap-by-constructor.js AFTER BEFORE N [AFTER2 BEFORE2 N2] [--top 40]');
  process.exit(2);
}

/** Self size and count by class name. */
function summarize(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((name) => fields.indexOf(name));
  const { nodes, strings } = snapshot;
  const byName = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const key = type === 'object' || type === 'native' ? strings[nodes[i + nameAt]] : `(${type})`;
    const entry = byName.get(key) ?? { size: 0, count: 0 };
    entry.size += nodes[i + sizeAt];
    entry.count++;
    byName.set(key, entry);
  }
  return byName;
}

/** Per connection: (after − before) / n, by class name. */
function perConnection(after, before, n) {
  const a = summarize(after);
  const b = summarize(before);
  const out = new Map();
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name) ?? { size: 0, count: 0 };
    const y = b.get(name) ?? { size: 0, count: 0 };
    out.set(name, { size: (x.size - y.size) / n, count: (x.count - y.count) / n });
  }
  return out;
}

const systems = [perConnection(args[0], args[1], Number(args[2]))];
if (args.length === 6) systems.push(perConnection(args[3], args[4], Number(args[5])));
const zero = { size: 0, count: 0 };
const rows = [...new Set(systems.flatMap((s) => [...s.keys()]))].map((name) => {
  const cells = systems.map((s) => s.get(name) ?? zero);
  return { name, cells, key: cells.length > 1 ? cells[0].size - cells[1].size : cells[0].size };
});
rows.sort((p, q) => Math.abs(q.key) - Math.abs(p.key));

const bytes = (v) => v.toFixed(0).padStart(7);
const count = (v) => v.toFixed(2).padStart(7);
const labels = systems.length > 1 ? ['A', 'B'] : ['A'];
console.log(
  `${'per connection, by constructor'.padEnd(44)}` +
    labels.map((l) => `${`${l} bytes`.padStart(9)} ${`${l} objs`.padStart(7)}`).join('') +
    (systems.length > 1 ? '     A−B' : ''),
);
for (const row of rows.slice(0, top)) {
  const cells = row.cells.map((c) => `  ${bytes(c.size)} ${count(c.count)}`).join('');
  console.log(`${row.name.slice(0, 44).padEnd(44)}${cells}${systems.length > 1 ? ` ${bytes(row.key)}` : ''}`);
}
const totals = systems.map((s) => [...s.values()].reduce((sum, c) => sum + c.size, 0));
console.log(`${'total'.padEnd(44)}${totals.map((t) => `  ${bytes(t)}        `).join('')}`);
