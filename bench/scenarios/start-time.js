/**
 * How long `tether serve` takes from spawn to listening (its 'tether listening on' banner line),
 * on a SQLite or memory store: the part of a restart that comes before any client can come back.
 * Two builds can be compared paired (runs alternate between them), e.g. a copy of the server's
 * `dist` kept from before a change:
 *
 *   npm run build && node bench/scenarios/start-time.js [--runs 10] [--store sqlite|memory]
 *       [--cli packages/server/dist/cli.js] [--cli-b packages/server/.dist-before/cli.js]
 *
 * Each run: a fresh data dir, port 0, logs silent, SIGTERM to the child (by its pid) once it
 * listens. Prints each run and the median / range per build of the wall time and of the child's
 * CPU time to that moment (/proc, Linux; less at the mercy of a shared box than the wall time). Bounded by `--runs`; a start that
 * takes over 60 s fails the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    store: { type: 'string', default: 'sqlite' },
    cli: { type: 'string', default: 'packages/server/dist/cli.js' },
    'cli-b': { type: 'string' },
  },
});
const builds = [values.cli, ...(values['cli-b'] ? [values['cli-b']] : [])];

function startOnce(cli) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-start-'));
  const store = values.store === 'memory' ? 'memory' : `sqlite:${join(dir, 'tether.db')}`;
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--store', store, '--data-dir', dir], {
    env: {
      ...process.env,
      TETHER_JWT_SECRET: 'start-time-secret-of-32-bytes-000',
      TETHER_API_KEY: 'start-time-api-key',
      TETHER_LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within 60 s: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!stderr.includes('tether listening on')) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const cpuMs = cpuMsOf(child.pid);
      clearTimeout(timer);
      child.once('exit', () => {
        rmSync(dir, { recursive: true, force: true });
        resolve({ ms, cpuMs });
      });
      child.kill('SIGTERM');
    });
    child.once('exit', (code) => {
      if (!stderr.includes('tether listening on')) {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before listening: ${stderr}`));
      }
    });
  });
}

/** CPU time (user + system) the process has used so far, from /proc (10 ms ticks). */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after `pid (comm) `.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const times = new Map(builds.map((b) => [b, { wall: [], cpu: [] }]));
for (let run = 0; run < Number(values.runs); run++) {
  const order = run % 2 === 0 ? builds : [...builds].reverse();
  for (const cli of order) {
    const { ms, cpuMs } = await startOnce(cli);
    times.get(cli).wall.push(ms);
    times.get(cli).cpu.push(cpuMs);
    console.log(`run ${run + 1} ${cli}: ${ms.toFixed(0)} ms, CPU ${cpuMs} ms`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `store ${values.store}; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const summary = (xs) =>
  `median ${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
for (const [cli, { wall, cpu }] of times) {
  console.log(`${cli}: to listening ${summary(wall)}; CPU ${summary(cpu)}`);
}
