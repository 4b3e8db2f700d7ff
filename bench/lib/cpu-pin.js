/**
 * The measured server's main thread pinned to one CPU, the same one for every system of a run.
 *
 * This VM's two vCPUs are not equal. On 2026-12-03 (session 13), with the box idle, one JS loop
 * took 265 ms pinned to CPU 0 and 378–407 ms pinned to CPU 1, run after run. A server process
 * the scheduler kept on CPU 1 cost ~1.5× a publish for its whole life (ingress, Tether memory:
 * 135–167 µs against 94–103 µs in the next process, same code): the "bimodal" cost sessions 11
 * and 12 saw, which made one round of a paired comparison fail at random. Pinning every server of
 * a ratio scenario to the same CPU takes that draw out; the loaders and the HTTP load stay free
 * to run on either CPU, as before.
 *
 * `--server-cpu auto` (the default) times the loop on each CPU and takes the fastest; `--server-cpu
 * N` takes CPU N; `--server-cpu none` pins nothing. Needs `taskset` (util-linux); without it
 * nothing is pinned and the run says so.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** A loop of Map sets and gets with string keys: the kind of work a server's JS does. */
const SPIN = `const t = process.hrtime.bigint(); const m = new Map(); let x = 0;
for (let i = 0; i < 3e6; i++) { m.set('k' + (i % 5000), i); x += m.get('k' + ((i * 7) % 5000)) | 0; }
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;

function hasTaskset() {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The loop's time on `cpu`, ms (the best of `runs`). */
function spinMs(cpu, runs = 2) {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const out = spawnSync('taskset', ['-c', String(cpu), process.execPath, '-e', SPIN], { encoding: 'utf8' });
    const ms = Number(out.stdout);
    if (out.status === 0 && Number.isFinite(ms)) best = Math.min(best, ms);
  }
  return best;
}

/**
 * Chooses the servers' CPU for this run and hands it to every child through `BENCH_SERVER_CPU`
 * (the server scripts call `pinSelf`). Returns what was chosen, for the result file and the log.
 * @param {string | undefined} flag `auto` (default), a CPU number, or `none`
 * @returns {{cpu: number | null, spinMs: Record<string, number>, note: string}}
 */
export function chooseServerCpu(flag = 'auto') {
  delete process.env.BENCH_SERVER_CPU;
  if (flag === 'none') return { cpu: null, spinMs: {}, note: 'servers not pinned (--server-cpu none)' };
  if (!hasTaskset()) return { cpu: null, spinMs: {}, note: 'servers not pinned: no taskset on this machine' };
  const cpus = availableParallelism();
  const spin = {};
  for (let cpu = 0; cpu < cpus; cpu++) spin[cpu] = Math.round(spinMs(cpu));
  let cpu;
  if (flag === 'auto') {
    cpu = Number(Object.entries(spin).sort((a, b) => a[1] - b[1])[0][0]);
  } else {
    cpu = Number(flag);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus) {
      throw new TypeError(`--server-cpu must be auto, none or a CPU from 0 to ${cpus - 1}, got ${flag}`);
    }
  }
  process.env.BENCH_SERVER_CPU = String(cpu);
  const times = Object.entries(spin)
    .map(([c, ms]) => `CPU ${c} ${ms} ms`)
    .join(', ');
  return { cpu, spinMs: spin, note: `servers' main thread pinned to CPU ${cpu} (the same loop: ${times})` };
}

/** In a server script, first thing: its main thread onto `BENCH_SERVER_CPU`, when the run chose one. */
export function pinSelf() {
  const cpu = process.env.BENCH_SERVER_CPU;
  if (cpu === undefined || cpu === '') return;
  // The main thread only (its id is the pid): V8's and libuv's helper threads stay free, as before.
  const out = spawnSync('taskset', ['-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
  if (out.status !== 0) console.error(`bench server: could not pin to CPU ${cpu}`);
}
