/**
 * Where an idle server's memory outside the V8 heap is (issue 9, idle RSS): starts one `idle`
 * server (plain or Tether, as `bench/scenarios/idle.js` does), connects N clients, and before and
 * after reads the server's /proc/<pid>/smaps by kind of mapping (glibc's main heap, thread arenas,
 * thread stacks, other anonymous memory, files), its threads, `process.memoryUsage()` and V8's
 * spaces; with `--gdb` also glibc's own account (`malloc_stats()` per arena, via gdb) and what
 * `malloc_trim(0)` gives back (memory glibc keeps free).
 *
 *   node bench/tools/idle-probe.js <plain|tether-memory> [--clients N] [--gdb] [--hold S]
 *
 * Extra environment for the server goes through as is (e.g. `MALLOC_ARENA_MAX=1`,
 * `BENCH_SERVER_OPTIONS`, `BENCH_TETHER_MODULE`, `UV_THREADPOOL_SIZE`).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { socketUrl } from '../lib/frame-client.js';
import { connectClients, serverEnv } from '../lib/ladder.js';
import { IDLE_SYSTEMS } from '../scenarios/idle.js';

const args = process.argv.slice(2);
const system = args[0] ?? 'tether-memory';
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const clients = Number(flag('clients', 10_000));
const useGdb = args.includes('--gdb');
const holdSeconds = Number(flag('hold', 0));
const MB = 2 ** 20;
const ARENA = 64 * MB; // glibc's HEAP_MAX_SIZE on 64-bit: a thread arena is one 64 MB-aligned reservation

/** The server's mappings from /proc/<pid>/smaps, with their resident and anonymous kB. */
function smaps(pid) {
  const maps = [];
  let cur = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = {
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perms: head[3],
        path: head[4],
        rss: 0,
        anon: 0,
      };
      maps.push(cur);
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (m && cur) cur[m[1] === 'Rss' ? 'rss' : 'anon'] = Number(m[2]) * 1024;
  }
  return maps;
}

function threads(pid) {
  const names = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const n = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      names[n] = (names[n] ?? 0) + 1;
    } catch {
      // gone
    }
  }
  return names;
}

/**
 * Mappings by kind. A glibc thread arena is a 64 MB-aligned anonymous reservation (rw- part and
 * ---p rest); 8 MB + guard anonymous mappings are thread stacks; [heap] is the main arena (brk).
 */
function byKind(maps) {
  const kinds = {};
  const add = (k, m) => {
    const e = (kinds[k] ??= { rss: 0, mappings: 0 });
    e.rss += m.rss;
    e.mappings++;
  };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i];
    const size = m.end - m.start;
    if (m.path === '[heap]') add('glibc main arena ([heap])', m);
    else if (m.path.startsWith('[')) add(m.path, m);
    else if (m.path !== '') add(m.path.includes('.so') ? 'shared libraries' : `file ${m.path.split('/').pop()}`, m);
    else if (m.start % BigInt(ARENA) === 0n && size <= BigInt(ARENA) && m.perms.startsWith('rw')) {
      add('glibc thread arenas', m);
    } else if (size === BigInt(8 * MB) + 4096n || size === BigInt(8 * MB)) add('thread stacks (8 MB)', m);
    else if (size === 256n * 1024n && m.start % (256n * 1024n) === 0n) add('256 KB aligned (V8 pages)', m);
    else add(`other anonymous (${m.perms})`, m);
  }
  return kinds;
}

function gdb(pid, commands) {
  try {
    return execFileSync('gdb', ['-q', '-batch', '-nx', '-p', String(pid), ...commands.flatMap((c) => ['-ex', c])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (err) {
    return `gdb failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** glibc's malloc_info XML, written by the server process itself into a file. */
function mallocInfo(pid, file) {
  gdb(pid, [`call (void*)fopen("${file}", "w")`, 'call (int)malloc_info(0, $1)', 'call (int)fclose($1)']);
  const xml = readFileSync(file, 'utf8');
  const heaps = [...xml.matchAll(/<heap nr="(\d+)">([\s\S]*?)<\/heap>/g)].map(([, nr, body]) => {
    const num = (re) => Number(re.exec(body)?.[1] ?? 0);
    return {
      nr: Number(nr),
      restTotal: num(/<total type="rest" count="\d+" size="(\d+)"\/>/),
      fastTotal: num(/<total type="fast" count="\d+" size="(\d+)"\/>/),
      current: num(/<system type="current" size="(\d+)"\/>/),
      max: num(/<system type="max" size="(\d+)"\/>/),
    };
  });
  const total = (re) => Number(re.exec(xml.split('</heap>').pop())?.[1] ?? 0);
  return {
    heaps,
    totalFree:
      total(/<total type="rest" count="\d+" size="(\d+)"\/>/) + total(/<total type="fast" count="\d+" size="(\d+)"\/>/),
    systemCurrent: total(/<system type="current" size="(\d+)"\/>/),
    mmapped: total(/<total type="mmap" count="\d+" size="(\d+)"\/>/),
  };
}

async function read(server, label) {
  await server.call('gc');
  await server.call('heapUsed');
  if (process.env.PROBE_REDUCE === '1') await server.call('reduceMemory');
  const detail = await server.call('memoryDetail');
  const maps = smaps(server.pid);
  const kinds = byKind(maps);
  const v8Committed = detail.heapTotal;
  const out = {
    label,
    maps,
    status: detail.status,
    heapTotal: v8Committed,
    external: detail.external,
    arrayBuffers: detail.arrayBuffers,
    spaces: detail.spaces,
    kinds,
    threads: threads(server.pid),
  };
  if (useGdb) out.malloc = mallocInfo(server.pid, `/tmp/idle-probe-${server.pid}-${label}.xml`);
  return out;
}

function print(a, b, n) {
  const d = (x, y) => ((y ?? 0) - (x ?? 0)) / MB;
  const sum = (x, k) => Object.values(x.spaces).reduce((t, s) => t + (s[k] ?? 0), 0);
  console.log(`\n${b.label} − ${a.label} (MB; per connection ×1024/${n} for KB):`);
  console.log(
    `  RSS ${d(a.status.VmRSS, b.status.VmRSS).toFixed(1)}, anon ${d(a.status.RssAnon, b.status.RssAnon).toFixed(1)}, file ${d(a.status.RssFile, b.status.RssFile).toFixed(1)}`,
  );
  console.log(
    `  outside the V8 heap (anon − V8 physical): ${((a.status.RssAnon - sum(a, 'physical')) / MB).toFixed(1)} → ${((b.status.RssAnon - sum(b, 'physical')) / MB).toFixed(1)} MB`,
  );
  console.log(
    `  V8 committed ${d(a.heapTotal, b.heapTotal).toFixed(1)}; external ${d(a.external, b.external).toFixed(2)}, arrayBuffers ${d(a.arrayBuffers, b.arrayBuffers).toFixed(2)}`,
  );
  console.log(
    `  V8 physical ${d(sum(a, 'physical'), sum(b, 'physical')).toFixed(1)} (before ${(sum(a, 'physical') / MB).toFixed(1)}, after ${(sum(b, 'physical') / MB).toFixed(1)}; committed ${(a.heapTotal / MB).toFixed(1)}, ${(b.heapTotal / MB).toFixed(1)})`,
  );
  console.log(
    `  V8 spaces committed / physical: ${Object.keys(b.spaces)
      .filter((s) => b.spaces[s].size > 0)
      .map(
        (s) =>
          `${s} ${d(a.spaces[s]?.size, b.spaces[s].size).toFixed(1)} / ${d(a.spaces[s]?.physical, b.spaces[s].physical).toFixed(1)} (now ${(b.spaces[s].physical / MB).toFixed(1)})`,
      )
      .join(', ')}`,
  );
  const kinds = new Set([...Object.keys(a.kinds), ...Object.keys(b.kinds)]);
  for (const k of kinds) {
    const x = a.kinds[k] ?? { rss: 0, mappings: 0 };
    const y = b.kinds[k] ?? { rss: 0, mappings: 0 };
    if (Math.abs(y.rss - x.rss) >= 0.05 * MB || y.mappings !== x.mappings)
      console.log(
        `  ${k}: ${(x.rss / MB).toFixed(1)} → ${(y.rss / MB).toFixed(1)} MB (${x.mappings} → ${y.mappings} mappings)`,
      );
  }
  const old = new Map(a.maps.map((m) => [m.start, m]));
  const grown = b.maps
    .map((m) => ({ m, d: m.rss - (old.get(m.start)?.rss ?? 0) }))
    .filter(({ m }) => m.path === '' && !(m.end - m.start === 256n * 1024n))
    .sort((x, y) => y.d - x.d)
    .slice(0, Number(flag('top', 12)));
  for (const { m, d } of grown)
    console.log(
      `    ${m.start.toString(16)} ${(Number(m.end - m.start) / 1024).toFixed(0)} kB ${m.perms}: rss ${(m.rss / 1024).toFixed(0)} kB (${d >= 0 ? '+' : ''}${(d / 1024).toFixed(0)})${old.has(m.start) ? '' : ' new'}`,
    );
  console.log(`  threads: ${JSON.stringify(a.threads)} → ${JSON.stringify(b.threads)}`);
  if (a.malloc && b.malloc) {
    console.log(
      `  malloc: arenas ${a.malloc.heaps.length} → ${b.malloc.heaps.length}; system ${(a.malloc.systemCurrent / MB).toFixed(1)} → ${(b.malloc.systemCurrent / MB).toFixed(1)} MB; free in arenas ${(a.malloc.totalFree / MB).toFixed(1)} → ${(b.malloc.totalFree / MB).toFixed(1)} MB; mmapped ${(a.malloc.mmapped / MB).toFixed(1)} → ${(b.malloc.mmapped / MB).toFixed(1)} MB`,
    );
    for (const h of b.malloc.heaps) {
      const o = a.malloc.heaps.find((x) => x.nr === h.nr);
      console.log(
        `    arena ${h.nr}: system ${((o?.current ?? 0) / MB).toFixed(1)} → ${(h.current / MB).toFixed(1)} MB (max ${(h.max / MB).toFixed(1)}), free ${(((o?.restTotal ?? 0) + (o?.fastTotal ?? 0)) / MB).toFixed(1)} → ${((h.restTotal + h.fastTotal) / MB).toFixed(1)} MB`,
      );
    }
  }
}

const sys = IDLE_SYSTEMS[system];
if (!sys) throw new Error(`system: ${Object.keys(IDLE_SYSTEMS).join(' | ')}`);
const secret = randomBytes(24).toString('hex');
const server = new Child(sys.script, {
  name: `${system}-server`,
  execArgv: ['--expose-gc', ...(process.env.PROBE_EXEC_ARGV ?? '').split(' ').filter(Boolean)],
  env: {
    ...serverEnv(secret, process.env.PROBE_STORE ?? 'memory', 'bench:inbox'),
    ...sys.env,
    BENCH_USERS: String(clients),
  },
});
const workers = [];
try {
  const ready = await server.waitFor('ready', 30_000);
  console.log(`${sys.label}: server pid ${server.pid}`);
  for (let i = 0; i < 4; i++)
    workers.push(new Child(new URL('../workers/loader.js', import.meta.url).pathname, { name: `loader-${i}` }));
  await sleep(1000);
  const before = await read(server, 'before');
  const per = Math.ceil(clients / workers.length);
  const conn = await Promise.all(
    workers.map((w, i) =>
      connectClients(
        w,
        {
          url: socketUrl('127.0.0.1', ready.port),
          channel: 'bench:inbox',
          secret,
          startIndex: i * per,
          count: Math.max(0, Math.min(per, clients - i * per)),
          inbox: true,
        },
        { connectConcurrency: 50, parse: 'scan' },
      ),
    ),
  );
  const connected = conn.reduce((a, c) => a + c.connected, 0);
  console.log(`${connected} connected`);
  await sleep(5000);
  const after = await read(server, 'after');
  print(before, after, connected);
  if (useGdb) {
    gdb(server.pid, ['call (int)malloc_trim(0)']);
    const trimmed = await read(server, 'trimmed');
    print(after, trimmed, connected);
  }
  if (holdSeconds > 0) {
    console.log(`holding ${holdSeconds} s: server pid ${server.pid}`);
    await sleep(holdSeconds * 1000);
  }
} finally {
  await Promise.all([...workers.map((w) => w.stop(5000)), server.stop(8000)]);
}
