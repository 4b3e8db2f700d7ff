/**
 * Prints a fanout result JSON (bench/results/fanout-*.json) as Markdown tables, for the README.
 * usage: node bench/tools/result-to-md.js FILE
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/tools/result-to-md.js bench/results/fanout-….json');
  process.exit(2);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const int = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const pct = (n) => (n === null || n === undefined ? '-' : `${Math.round(n)} %`);
const kb = (b) => (b === null || b === undefined ? '-' : `${(b / 1024).toFixed(1)} KB`);

console.log(
  `Run ${r.date}: ${r.config.clients} clients over ${r.config.workers} loader processes, ${r.config.stepSeconds} s steps, ` +
    `Tether store \`${r.config.store}\`; ${r.machine.cores} cores, ${r.machine.cpuModel}, Node ${r.machine.node}; ${Math.round(r.seconds)} s.\n`,
);
console.log(
  '| system | rate/s | target msg/s | delivered msg/s | p50 / p95 / p99 ms | lost | dup | resync | server CPU | loader CPU | box CPU (other) | msg/frame | kept up |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const s of r.results) {
  for (const x of s.steps) {
    console.log(
      `| ${s.system} | ${x.rate} | ${int(x.target)} | ${int(x.delivered)} (${pct(x.deliveredShare * 100)}) | ` +
        `${x.p50} / ${x.p95} / ${x.p99} | ${x.lostFinal ?? x.lostAtDrain} | ${x.dupOffsetsFinal ?? x.dupOffsets} | ${x.resyncs ?? '-'} | ` +
        `${pct(x.serverCpuPct)} | ${pct(x.loaderCpuPct)} | ${pct(x.machineCpuPct)} (${pct(x.otherCpuPct)}) | ` +
        `${x.msgsPerFrame === null ? '-' : x.msgsPerFrame.toFixed(1)} | ${x.keptUp ? 'yes' : '**no**'} |`,
    );
  }
}
console.log('\n| system | kept up (msg/s) | at rate | p50 / p99 ms | server RSS per connection | connect 5k |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const s of r.results) {
  const k = s.keptUp;
  console.log(
    `| ${s.system} | ${k ? int(k.delivered) : '-'} | ${k ? `${k.rate}/s` : '-'} | ${k ? `${k.p50} / ${k.p99}` : '-'} | ` +
      `${kb(s.rss?.perConnection)} | ${s.connect ? `${s.connect.seconds.toFixed(1)} s` : '-'} |`,
  );
}
for (const [name, c] of [
  ['socket.io', r.ratio],
  ['socket.io batched', r.ratioBatched],
]) {
  if (!c) continue;
  console.log(
    `\nTether / ${name}: kept-up delivered **${c.deliveredRatio.toFixed(2)}×**` +
      (c.latencyAtRate !== undefined
        ? `; at ${c.latencyAtRate}/s (highest rate both kept up with) p50 ${c.p50Ratio.toFixed(2)}×, p99 ${c.p99Ratio.toFixed(2)}×`
        : ''),
  );
}
