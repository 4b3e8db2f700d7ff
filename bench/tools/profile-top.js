/**
 * Summarises a V8 `.cpuprofile` (from `--cpu-prof`): self time by function and by package.
 * usage: node bench/tools/profile-top.js FILE [N]
 */
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/tools/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const top = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dts = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++)
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dts[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const pkgOf = (url) => {
  if (!url) return '(native/vm)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:internal';
  const p = url.match(/packages\/([^/]+)\//);
  if (p) return `@tether/${p[1]}`;
  if (url.includes('/bench/')) return 'bench';
  return url;
};
const byFn = new Map();
const byPkg = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const pkg = pkgOf(cf.url) + (cf.functionName === '(garbage collector)' ? ' GC' : '');
  byPkg.set(
    cf.functionName.startsWith('(') ? cf.functionName : pkg,
    (byPkg.get(cf.functionName.startsWith('(') ? cf.functionName : pkg) ?? 0) + us,
  );
}
const show = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
    .join('\n');
console.log(
  `${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nby package:\n${show(byPkg, 15)}\n\nby function (self):\n${show(byFn, top)}`,
);
