/**
 * The server's HTTP publish path alone: `createTetherServer` in this process with an API key and no
 * client connected, and a load process (this file with `--load`) that sends `--requests`
 * `POST /v1/publish` (the `ingress` scenario's body: ~200 B of data to one of `--users` inboxes at
 * random) over `--connections` keep-alive connections, one request in flight on each, as fast as
 * the answers come. Prints the server's CPU µs per publish (user + system of this process, every
 * thread) and its requests/s. No socket is written to: what is measured is node's HTTP parser →
 * fastify → the route (key, limit, body) → door → publisher → store → fan-out → the reply, the part
 * the HTTP and publish code decide. The load process runs beside it and takes a core of its own.
 *
 *   node bench/tools/http-publish-cost.js [--store memory|sqlite] [--requests 60000] [--users 1000]
 *       [--connections 50] [--runs 2] [--module packages/server/dist/index.js[,another/dist/index.js]]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'memory' },
    requests: { type: 'string', default: '60000' },
    users: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '50' },
    runs: { type: 'string', default: '2' },
    module: { type: 'string', default: 'packages/server/dist/index.js' },
    load: { type: 'string' },
  },
});
const API_KEY = 'bench-http-publish-cost-key';
const PAD = 'x'.repeat(150);

if (values.load !== undefined) await load(Number(values.load));
else await measure();

/** The load process: `--requests` publishes to port `port`, then it tells its parent and exits. */
async function load(port) {
  const total = Number(values.requests);
  const users = Number(values.users);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values.connections) });
  let sent = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const body = JSON.stringify({
        channel: `user:bench-${Math.floor(Math.random() * users)}`,
        type: 'tick',
        data: { seq: sent, step: 1, sentAt: Date.now(), pad: PAD },
      });
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/publish',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${API_KEY}`,
          },
        },
        (res) => {
          if (res.statusCode !== 200) failed += 1;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => {
        failed += 1;
        resolve();
      });
      req.end(body);
    });
  const lane = async () => {
    while (sent < total) {
      sent += 1;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Number(values.connections) }, lane));
  agent.destroy();
  process.send?.({ sent, failed }, () => process.exit(0));
}

async function measure() {
  // `--module a,b`: other builds of the server (e.g. main's, compiled beside this one), measured in
  // turns in this one process (a, b, a, b, …), so that a busy box weighs on both alike.
  const builds = [];
  for (const path of values.module.split(','))
    builds.push({ path, ...(await import(pathToFileURL(resolve(path)).href)), figures: [] });
  for (let run = 1; run <= Number(values.runs); run += 1) {
    for (const build of builds) build.figures.push(await measureOnce(build, run));
  }
  if (builds.length < 2 && Number(values.runs) < 2) return;
  for (const { path, figures } of builds) {
    const sorted = [...figures].sort((x, y) => x - y);
    console.log(
      `${path}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} µs/publish over ${figures.length} runs (${figures.map((f) => f.toFixed(1)).join(', ')})`,
    );
  }
  if (builds.length === 2) {
    const deltas = builds[1].figures.map((f, i) => f - builds[0].figures[i]).sort((x, y) => x - y);
    console.log(
      `second − first, per run: median ${deltas[Math.floor(deltas.length / 2)].toFixed(1)} µs (${deltas.map((d) => d.toFixed(1)).join(', ')})`,
    );
  }
}

/** One run of one build: a fresh server, an untimed pass over every inbox, then the timed requests. */
async function measureOnce({ path, createTetherServer, noLimits }, run) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-http-publish-cost-'));
  const store = values.store === 'sqlite' ? `sqlite:${join(dir, 'bench.db')}` : 'memory';
  const server = await createTetherServer({
    store,
    jwtSecret: 'x'.repeat(32),
    logger: false,
    limits: noLimits,
    apiKeys: [{ key: API_KEY, tenant: 'bench' }],
    // More options as JSON, as the bench servers take them (e.g. `{"sqliteCheckpointPages":1000}`).
    ...(process.env.BENCH_SERVER_OPTIONS ? JSON.parse(process.env.BENCH_SERVER_OPTIONS) : {}),
  });
  try {
    const { port } = await server.listen(0, '127.0.0.1');
    await sendAll(port, values.users);
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    const answer = await sendAll(port, values.requests);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    const n = answer.sent;
    const perPublish = (cpu.user + cpu.system) / n;
    console.log(
      `${path} ${values.store} run ${run}: ${n} HTTP publishes (${answer.failed} failed) over ${values.connections} connections: ` +
        `server CPU ${perPublish.toFixed(1)} µs/publish (user ${(cpu.user / n).toFixed(1)}, ` +
        `system ${(cpu.system / n).toFixed(1)}), ${Math.round(n / seconds)} publishes/s`,
    );
    return perPublish;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a load process for `requests` publishes to `port`; resolves its answer. */
function sendAll(port, requests) {
  const child = fork(fileURLToPath(import.meta.url), [
    ...['--load', String(port), '--requests', String(requests)],
    ...['--users', values.users, '--connections', values.connections],
  ]);
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
  });
}
