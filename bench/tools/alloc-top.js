/**
 * Bytes allocated by function (self), from a sampling heap profile that counts freed objects too
 * (bench/lib/alloc-sample.js). With the number of messages of the profiled run, bytes per message.
 * usage: node bench/tools/alloc-top.js FILE.heapprofile [MESSAGES] [TOP]
 */
import { readFileSync } from 'node:fs';

const [file, msgs, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/tools/alloc-top.js FILE.heapprofile [MESSAGES] [TOP]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 40);
const messages = Number(msgs ?? 0);
const bySelf = new Map();
const byCaller = new Map();
let total = 0;
const walk = (node, parent) => {
  const f = node.callFrame;
  const short = (cf) =>
    `${cf.functionName || '(anonymous)'}  ${cf.url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${cf.lineNumber + 1}`;
  const key = short(f);
  const self = node.selfSize;
  total += self;
  bySelf.set(key, (bySelf.get(key) ?? 0) + self);
  if (self > 0 && parent) {
    const k2 = `${key}  <-  ${short(parent.callFrame)}`;
    byCaller.set(k2, (byCaller.get(k2) ?? 0) + self);
  }
  for (const child of node.children) walk(child, node);
};
walk(profile.head, null);
const fmt = (bytes) =>
  `${(bytes / 2 ** 20).toFixed(1).padStart(8)} MB${messages > 0 ? `  ${(bytes / messages).toFixed(1).padStart(7)} B/msg` : ''}`;
console.log(`${file}: ${fmt(total)} allocated (sampled)`);
console.log('\nby function (self):');
for (const [k, v] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
console.log('\nby function and its caller:');
for (const [k, v] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
