/**
 * Where a heap snapshot's bytes go, by constructor: `node bench/tools/heap-by-constructor.js A.heapsnapshot
 * [B.heapsnapshot] [--per N] [--top 40]`. Sums each node's self size by its class name (V8's node
 * name for objects, the node type for strings, arrays, closures, code…). With two files (e.g. the
 * `idle --heap-snapshot` files of Tether and of plain Socket.IO), prints both side by side and the
 * difference; `--per N` divides every figure by N (the connections), so the rows read as bytes per
 * connection. Reads the whole snapshot into memory: run it on snapshots of a few thousand connections.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  args.splice(i, 2);
  return value;
};
const per = flag('--per', 1);
const top = flag('--top', 40);
if (args.length < 1) {
  console.error('usage: heap-by-constructor.js A.heapsnapshot [B.heapsnapshot] [--per N] [--top 40]');
  process.exit(2);
}

/** Self size and count by class name. */
function summarize(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const at = (name) => fields.indexOf(name);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const { nodes, strings } = snapshot;
  const byName = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    // Objects by their constructor; everything else by its kind (every string is "string", …).
    const key = type === 'object' || type === 'native' ? strings[nodes[i + nameAt]] : `(${type})`;
    const entry = byName.get(key) ?? { size: 0, count: 0 };
    entry.size += size;
    entry.count++;
    byName.set(key, entry);
    total += size;
  }
  return { byName, total };
}

const runs = args.map(summarize);
const names = new Set(runs.flatMap((r) => [...r.byName.keys()]));
const rows = [...names].map((name) => {
  const cells = runs.map((r) => r.byName.get(name) ?? { size: 0, count: 0 });
  const diff = cells.length > 1 ? cells[0].size - cells[1].size : cells[0].size;
  return { name, cells, diff };
});
rows.sort((a, b) => Math.abs(b.diff) - Math.abs(a.diff));
const fmt = (bytes) => (bytes / per).toFixed(0).padStart(9);
const cnt = (count) => (count / per).toFixed(2).padStart(8);
const head = runs.map((_, i) => `${'bytes'.padStart(9)} ${'count'.padStart(8)}  (${i === 0 ? 'A' : 'B'})`).join('  ');
console.log(`${'constructor'.padEnd(48)} ${head}${runs.length > 1 ? '     A−B' : ''}`);
for (const row of rows.slice(0, top)) {
  const cells = row.cells.map((c) => `${fmt(c.size)} ${cnt(c.count)}     `).join('  ');
  console.log(`${row.name.slice(0, 48).padEnd(48)} ${cells}${runs.length > 1 ? fmt(row.diff) : ''}`);
}
console.log(`${'total'.padEnd(48)} ${runs.map((r) => `${fmt(r.total)}`.padEnd(24)).join('  ')}`);
