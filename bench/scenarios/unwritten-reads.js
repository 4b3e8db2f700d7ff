/**
 * Reads create nothing, at scale: polls (and acks) of a million distinct never-written channel
 * names over real HTTP against a Tether server in a child process; the server's store must hold no
 * stream afterwards and its heap (after a full GC) and RSS stay flat.
 *
 *   npm run build && node bench/scenarios/unwritten-reads.js [--polls 10000] [--names 100]
 *       [--store memory|sqlite] [--concurrency 8] [--max-minutes 5]
 *
 * Prints heap/RSS at the start and every 10% and a verdict; exits 1 if a stream was stored.
 */
/* global fetch */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') await child();
else await parent();

/** The server under test: its own process, so that the loader's memory does not count. */
async function child() {
  const { createTetherServer, MemoryLogStore, SqliteLogStore, issueToken } = await import('@tether/server');
  const dbPath = process.env.BENCH_SQLITE;
  const store = dbPath ? new SqliteLogStore(dbPath) : new MemoryLogStore();
  const jwtSecret = 'bench-secret-bench-secret-bench-secret-0123';
  const server = await createTetherServer({ store, jwtSecret, logger: false, maxChannelsPerConnection: 1000 });
  const { url } = await server.listen(0, '127.0.0.1');
  const token = await issueToken({ sub: 'bench', channels: ['n:*'], secret: jwtSecret });
  const streams = () => {
    if (store instanceof MemoryLogStore) return store.streamCount;
    return -1; // counted by the parent through its own connection
  };
  process.on('message', (msg) => {
    if (msg === 'mem') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const m = process.memoryUsage();
      process.send({ heap: m.heapUsed, rss: m.rss, streams: streams() });
    } else if (msg === 'stop') void server.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ url, token });
}

async function parent() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      polls: { type: 'string', default: '10000' },
      names: { type: 'string', default: '100' },
      store: { type: 'string', default: 'memory' },
      concurrency: { type: 'string', default: '8' },
      'max-minutes': { type: 'string', default: '5' },
    },
  });
  const polls = Number(values.polls);
  const perPoll = Number(values.names);
  const concurrency = Number(values.concurrency);
  const dir = values.store === 'sqlite' ? mkdtempSync(join(tmpdir(), 'tether-bench-reads-')) : undefined;
  const dbPath = dir ? join(dir, 'tether.db') : undefined;
  const server = fork(self, ['--child'], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ...(dbPath ? { BENCH_SQLITE: dbPath } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const hardStop = setTimeout(
    () => {
      console.error(`stopped after ${values['max-minutes']} min`);
      server.kill('SIGKILL');
      process.exit(1);
    },
    Number(values['max-minutes']) * 60_000,
  );
  const next = () => new Promise((resolve) => server.once('message', resolve));
  const { url, token } = await next();
  const ask = async () => {
    server.send('mem');
    const m = await next();
    if (dbPath) m.streams = await sqliteStreams(dbPath);
    return m;
  };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (path, body) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const run = async (from, to) => {
    let next = from;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let poll = next++; poll < to; poll = next++) {
          const names = Array.from({ length: perPoll }, (_, i) => `n:${poll}-${i}`);
          const positions = Object.fromEntries(names.map((n, i) => [n, i % 2 ? null : { offset: 0 }]));
          await call('/v1/poll', { positions, wait: 0 });
          if (poll % 10 === 0) await call('/v1/ack', { acks: Object.fromEntries(names.map((n) => [n, 5])) });
        }
      }),
    );
  };
  const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const line = (label, m) =>
    console.log(`${label.padEnd(22)} heap ${mib(m.heap)}  rss ${mib(m.rss)}  streams ${m.streams}`);

  await run(-500, 0); // warm-up
  const start = await ask();
  line('after warm-up', start);
  const began = Date.now();
  let done = 0;
  for (let step = 1; step <= 10; step++) {
    const to = Math.round((polls * step) / 10);
    await run(done, to);
    done = to;
    line(`${(done * perPoll).toLocaleString('en')} names`, await ask());
  }
  const end = await ask();
  const seconds = (Date.now() - began) / 1000;
  console.log(
    `${(polls * perPoll).toLocaleString('en')} names in ${polls} polls, ${seconds.toFixed(1)} s ` +
      `(${Math.round((polls * perPoll) / seconds).toLocaleString('en')} names/s); ` +
      `heap ${mib(start.heap)} → ${mib(end.heap)}, rss ${mib(start.rss)} → ${mib(end.rss)}, streams stored ${end.streams}`,
  );
  server.send('stop');
  await new Promise((resolve) => server.once('exit', resolve));
  clearTimeout(hardStop);
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.exitCode = end.streams === 0 ? 0 : 1;
}

async function sqliteStreams(path) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT count(*) AS n FROM streams').get().n;
  } finally {
    db.close();
  }
}
