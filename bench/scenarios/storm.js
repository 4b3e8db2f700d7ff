/**
 * Scenario `storm`: the resume storm after a crash. A Tether server as the CLI runs it (SQLite file,
 * production limits but the per-IP caps) holds C clients, each a user on its inbox plus the shared
 * channel `room:all`; this process publishes over HTTP (inbox messages to random users, a low rate
 * on `room:all`). Then the server is killed with SIGKILL and started again on the same file and
 * port, publishing on; the clients come back on their own (SDK-like backoff, handshake positions).
 * Measured: time from the restart until each client is back and has caught up with what was
 * published before the kill (p50/p99/max), `/healthz` latency during the storm (a separate poller),
 * connect timeouts and refusals, resyncs, and lost / duplicated per (client, channel, offset).
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { socketUrl } from '../lib/frame-client.js';
import { fmtInt, fmtMs } from '../lib/format.js';
import { signJwt } from '../lib/jwt.js';
import { freePort } from '../lib/free-port.js';
import { decodeProtectedHeader, jwtVerify } from 'jose';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const SERVER = here('../servers/storm-server.js');
const LOADER = here('../workers/storm-loader.js');
const TENANT = 'bench';

export const stormDefaults = {
  clients: 10_000,
  workers: 4,
  /** Inbox messages per second over HTTP, each to one random user. */
  inboxRate: 200,
  /** Messages per second on `room:all` (one broadcast to every client). */
  roomRate: 0.5,
  /** Publishing before the kill. */
  warmSeconds: 10,
  /** The storm is given up after this long (the goal is 20 s). */
  stormSeconds: 60,
  /** After the storm, publishing stops and the clients get this long to receive the rest. */
  settleSeconds: 15,
  connectTimeoutMs: 20_000,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  /** The SDK's `reconnect.unreachableMaxDelayMs`; 30000 behaves as the SDK did before it. */
  unreachableMaxDelayMs: 5000,
  ackIntervalMs: 1000,
  connectConcurrency: 100,
  healthzEveryMs: 100,
  /** Server options (JSON) on top of the defaults, e.g. `{"listenBacklog":511}` for the old behaviour. */
  serverOptions: {},
  cpuProf: false,
  resultsDir: here('../results/'),
};

/** Per-IP caps off (every client is 127.0.0.1); every other limit at its default. */
const STORM_LIMITS = { connectionAttemptsPerSecondPerIp: 0, connectionAttemptBurstPerIp: 0, maxConnectionsPerIp: 0 };

function startServer(env, port, cpuProf, stamp, life) {
  const execArgv = cpuProf
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${here('../results/prof/')}`,
        `--cpu-prof-name=storm-server-${life}-${stamp}.cpuprofile`,
      ]
    : [];
  const child = new Child(SERVER, {
    name: `tether storm server (${life})`,
    env: { ...env, BENCH_PORT: String(port) },
    execArgv,
  });
  return child.waitFor('ready', 60_000).then((msg) => ({ child, port: msg.port, startupMs: msg.startupMs }));
}

/** HTTP publishes with keep-alive; counts the accepted offsets per channel. */
class HttpPublisher {
  constructor(port, apiKey, clients) {
    this.port = port;
    this.auth = `Bearer ${apiKey}`;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    this.inboxHeads = new Array(clients).fill(0);
    this.roomHead = 0;
    this.accepted = 0;
    this.failed = 0;
    this.inflight = 0;
    this.timer = null;
  }

  publish(channel, onOffset) {
    if (this.inflight >= 512) return void this.failed++;
    this.inflight++;
    const body = JSON.stringify({ channel, type: 'tick', data: { sentAt: Date.now() } });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: this.port,
        path: '/v1/publish',
        method: 'POST',
        agent: this.agent,
        timeout: 10_000,
        headers: {
          authorization: this.auth,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          this.inflight--;
          if (res.statusCode !== 200) return void this.failed++;
          this.accepted++;
          onOffset(JSON.parse(text).offset);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      this.inflight--;
      this.failed++;
    });
    req.end(body);
  }

  /** Every 10 ms, the messages due by now (fractional rates accumulate). */
  start(inboxRate, roomRate) {
    let inboxDue = 0;
    let roomDue = 0;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const dt = (now - last) / 1000;
      last = now;
      inboxDue += inboxRate * dt;
      roomDue += roomRate * dt;
      for (; inboxDue >= 1; inboxDue--) {
        const user = Math.floor(Math.random() * this.inboxHeads.length);
        this.publish(`user:bench-${user}`, (o) => (this.inboxHeads[user] = Math.max(this.inboxHeads[user], o)));
      }
      for (; roomDue >= 1; roomDue--) this.publish('room:all', (o) => (this.roomHead = Math.max(this.roomHead, o)));
    }, 10);
  }

  async stop() {
    clearInterval(this.timer);
    const until = Date.now() + 10_000;
    while (this.inflight > 0 && Date.now() < until) await sleep(50);
    this.agent.destroy();
  }
}

/** GET /healthz on a fresh connection every `everyMs`: latency of answered polls, refused ones counted. */
class HealthzPoller {
  constructor(port, everyMs) {
    this.port = port;
    this.samples = [];
    this.timer = setInterval(() => this.poll(), everyMs);
  }

  poll() {
    const at = Date.now();
    const req = http.get(
      { host: '127.0.0.1', port: this.port, path: '/healthz', agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => this.samples.push({ at, ms: Date.now() - at, ok: res.statusCode === 200 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => this.samples.push({ at, ms: Date.now() - at, ok: false, error: err.message }));
  }

  /** Latencies of the polls started in `[t0, t1)` that were answered. */
  window(t0, t1) {
    const inside = this.samples.filter((s) => s.at >= t0 && s.at < t1);
    const ms = inside
      .filter((s) => s.ok)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    const q = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] : null);
    return { polls: inside.length, answered: ms.length, p50: q(50), p99: q(99), max: ms.at(-1) ?? null };
  }

  stop() {
    clearInterval(this.timer);
  }
}

function mergeTimes(reports, key) {
  const all = reports.flatMap((r) => r[`${key}Sorted`]).sort((a, b) => a - b);
  const q = (p) => (all.length ? all[Math.min(all.length - 1, Math.ceil((p / 100) * all.length) - 1)] : null);
  return { n: all.length, p50: q(50), p99: q(99), max: all.at(-1) ?? null };
}

/**
 * What one handshake's token check costs: jose's HS256 verification (as the server does it: header
 * decode, then jwtVerify) against a lookup in a Map of verified tokens (the server's token cache).
 */
async function tokenCost(secret, n = 3000) {
  const key = Buffer.from(secret);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens = Array.from({ length: n }, (_, i) =>
    signJwt({ sub: `bench-${i}`, tenant: TENANT, channels: ['room:all'], exp }, secret),
  );
  const cache = new Map();
  const verifyAll = async () => {
    for (const t of tokens) {
      decodeProtectedHeader(t);
      const { payload } = await jwtVerify(t, key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
      cache.set(t, { claims: payload, until: exp * 1000 });
    }
  };
  await verifyAll(); // warm up
  let t0 = performance.now();
  await verifyAll();
  const verifyUs = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  let hits = 0;
  for (let round = 0; round < 10; round++) {
    for (const t of tokens) {
      const e = cache.get(t);
      if (e !== undefined && Date.now() < e.until) hits++;
    }
  }
  const cachedUs = ((performance.now() - t0) * 1000) / (10 * n);
  return { verifyUs, cachedUs, hits };
}

export async function runStorm(opts) {
  // The probes' own listener (`probePort`), on the same port in both lives of the server.
  const probePort = opts.serverOptions.probePort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tether-storm-'));
  const secret = randomBytes(24).toString('hex');
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const env = {
    ...process.env,
    BENCH_JWT_SECRET: secret,
    BENCH_API_KEY: apiKey,
    BENCH_DB: join(dir, 'storm.db'),
    BENCH_TENANT: TENANT,
    BENCH_LIMITS: JSON.stringify(STORM_LIMITS),
    BENCH_OPTIONS: JSON.stringify({ ...opts.serverOptions, probePort }),
  };
  const workers = [];
  let server = null;
  let healthz = null;
  let probes = null;
  const tokens = await tokenCost(secret);
  console.log(
    `token check per handshake: jose HS256 verify ${tokens.verifyUs.toFixed(1)} µs, cache lookup ${tokens.cachedUs.toFixed(2)} µs`,
  );
  try {
    let { child, port } = await startServer(env, 0, false, opts.stamp, 'first');
    server = child;
    console.log(`server pid ${server.pid} on 127.0.0.1:${port}, SQLite file ${env.BENCH_DB}`);
    for (let w = 0; w < opts.workers; w++) workers.push(new Child(LOADER, { name: `storm loader ${w}` }));
    const per = Math.ceil(opts.clients / opts.workers);
    const t0 = Date.now();
    const connected = await Promise.all(
      workers.map((w, i) =>
        w.call(
          'connect',
          {
            url: socketUrl('127.0.0.1', port),
            tenant: TENANT,
            secret,
            startIndex: i * per,
            count: Math.max(0, Math.min(per, opts.clients - i * per)),
            concurrency: Math.ceil(opts.connectConcurrency / opts.workers),
            connectTimeoutMs: opts.connectTimeoutMs,
            initialDelayMs: opts.initialDelayMs,
            maxDelayMs: opts.maxDelayMs,
            unreachableMaxDelayMs: opts.unreachableMaxDelayMs,
            ackIntervalMs: opts.ackIntervalMs,
          },
          10 * 60_000,
        ),
      ),
    );
    const n = connected.reduce((s, r) => s + r.connected, 0);
    console.log(`${n} of ${opts.clients} clients connected in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const publisher = new HttpPublisher(port, apiKey, opts.clients);
    publisher.start(opts.inboxRate, opts.roomRate);
    healthz = new HealthzPoller(port, opts.healthzEveryMs);
    probes = new HealthzPoller(probePort, opts.healthzEveryMs);
    console.log(
      `publishing ${opts.inboxRate} inbox msg/s + ${opts.roomRate} msg/s on room:all for ${opts.warmSeconds} s`,
    );
    await sleep(opts.warmSeconds * 1000);
    const warm = healthz.window(Date.now() - opts.warmSeconds * 1000, Date.now());
    const probesWarm = probes.window(Date.now() - opts.warmSeconds * 1000, Date.now());

    // Crash: SIGKILL, then the same command on the same file and port.
    const killedAt = Date.now();
    process.kill(server.pid, 'SIGKILL');
    await server.exited;
    await sleep(200); // a publish in flight at the kill gets its error before the heads are taken
    const roomHead = publisher.roomHead;
    const inboxHeads = [...publisher.inboxHeads];
    let startupMs;
    ({ child, port, startupMs } = await startServer(env, port, opts.cpuProf, opts.stamp, 'restarted'));
    server = child;
    const upAt = Date.now();
    console.log(
      `killed at +0, up again at +${upAt - killedAt} ms (pid ${server.pid}, listening ${startupMs} ms after its start); ` +
        `heads at the kill: room:all ${roomHead}`,
    );
    await Promise.all(
      workers.map((w, i) =>
        w.call('restarted', { at: upAt, roomHead, inboxHeads: inboxHeads.slice(i * per, (i + 1) * per) }),
      ),
    );

    // The storm: until every client is back and caught up, or the time is up.
    let caughtAllAt = null;
    let lastLine = 0;
    while (Date.now() - upAt < opts.stormSeconds * 1000) {
      await sleep(250);
      const ps = await Promise.all(workers.map((w) => w.call('progress')));
      const back = ps.reduce((s, p) => s + p.back, 0);
      const caught = ps.reduce((s, p) => s + p.caught, 0);
      if (Date.now() - lastLine >= 2000) {
        lastLine = Date.now();
        console.log(`  +${((Date.now() - upAt) / 1000).toFixed(1)} s: back ${back}, caught up ${caught} of ${n}`);
      }
      if (caught >= n) {
        caughtAllAt = Date.now();
        break;
      }
    }
    const stormEnd = caughtAllAt ?? Date.now();
    const during = healthz.window(upAt, Math.max(stormEnd, upAt + 1000));
    const probesDuring = probes.window(upAt, Math.max(stormEnd, upAt + 1000));
    const serverStatsStorm = await server.call('stats').catch(() => null);

    // Publishing stops; everyone gets the rest; every (client, channel, offset) is checked.
    await publisher.stop();
    await sleep(opts.settleSeconds * 1000);
    const reports = await Promise.all(
      workers.map((w, i) =>
        w.call(
          'report',
          { roomHead: publisher.roomHead, inboxHeads: publisher.inboxHeads.slice(i * per, (i + 1) * per) },
          120_000,
        ),
      ),
    );
    const usages = await Promise.all(workers.map((w) => w.call('usage')));
    const serverStats = await server.call('stats').catch(() => null);
    const sum = (f) => usages.reduce((s, u) => s + f(u.counters), 0);
    const refused = {};
    const connectErrors = {};
    for (const u of usages) {
      for (const [k, v] of Object.entries(u.counters.refused)) refused[k] = (refused[k] ?? 0) + v;
      for (const [k, v] of Object.entries(u.counters.connectErrors)) connectErrors[k] = (connectErrors[k] ?? 0) + v;
    }
    const result = {
      clients: n,
      tokenCheckUs: { joseHs256: tokens.verifyUs, cached: tokens.cachedUs },
      restartMs: upAt - killedAt,
      serverStartupMs: startupMs,
      back: mergeTimes(reports, 'back'),
      caught: mergeTimes(reports, 'caught'),
      allCaughtUpMs: caughtAllAt === null ? null : caughtAllAt - upAt,
      healthzWarm: warm,
      healthzStorm: during,
      probesWarm,
      probesStorm: probesDuring,
      /** Every poll of the storm (start ms after the server was up, latency ms, ok): where the slow ones fall. */
      healthzStormPolls: healthz.samples
        .filter((h) => h.at >= upAt && h.at < Math.max(stormEnd, upAt + 1000))
        .map((h) => [h.at - upAt, h.ms, h.ok ? 1 : 0]),
      connectTimeouts: sum((c) => c.connectTimeouts),
      attempts: sum((c) => c.attempts),
      refused,
      connectErrors,
      resyncs: sum((c) => c.resyncs),
      lost: reports.reduce((s, r) => s + r.lost, 0),
      lostNotBack: reports.reduce((s, r) => s + r.lostNotBack, 0),
      dupOffsets: reports.reduce((s, r) => s + r.dupOffsets, 0),
      checked: reports.reduce((s, r) => s + r.checked, 0),
      published: { accepted: publisher.accepted, failed: publisher.failed, roomHead: publisher.roomHead },
      serverCpuMsStorm: serverStatsStorm?.cpuMs ?? null,
      serverStats: serverStats?.tether ?? null,
      loaderErrors: usages.flatMap((u) => u.counters.errors).slice(0, 10),
    };
    printResult(result, opts);
    return result;
  } finally {
    healthz?.stop();
    probes?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printResult(r, opts) {
  const goal = (ok) => (ok ? 'met' : 'MISSED');
  console.log('');
  console.log(`storm: ${fmtInt(r.clients)} clients, server back ${fmtMs(r.restartMs)} ms after the kill`);
  console.log(
    `  back (CONNECT answered) after the restart, ms: p50 ${fmtMs(r.back.p50)}, p99 ${fmtMs(r.back.p99)}, max ${fmtMs(r.back.max)} (${fmtInt(r.back.n)} clients)`,
  );
  console.log(
    `  caught up after the restart, ms: p50 ${fmtMs(r.caught.p50)}, p99 ${fmtMs(r.caught.p99)}, max ${fmtMs(r.caught.max)} (${fmtInt(r.caught.n)} clients) — goal < 20000: ${goal(r.allCaughtUpMs !== null && r.allCaughtUpMs < 20_000)}`,
  );
  console.log(
    `  /healthz during the storm, ms: p50 ${fmtMs(r.healthzStorm.p50)}, p99 ${fmtMs(r.healthzStorm.p99)}, max ${fmtMs(r.healthzStorm.max)} ` +
      `(${r.healthzStorm.answered}/${r.healthzStorm.polls} answered; before the kill p99 ${fmtMs(r.healthzWarm.p99)}; behind the WebSocket connects in the accept queue)`,
  );
  console.log(
    `  /healthz on probePort during the storm, ms: p50 ${fmtMs(r.probesStorm.p50)}, p99 ${fmtMs(r.probesStorm.p99)}, max ${fmtMs(r.probesStorm.max)} ` +
      `(${r.probesStorm.answered}/${r.probesStorm.polls} answered; before the kill p99 ${fmtMs(r.probesWarm.p99)}) — goal p99 < 1000: ${goal(r.probesStorm.p99 !== null && r.probesStorm.p99 < 1000)}`,
  );
  console.log(
    `  attempts ${fmtInt(r.attempts)}, connect timeouts ${fmtInt(r.connectTimeouts)}, refusals ${JSON.stringify(r.refused)}, resyncs ${r.resyncs}`,
  );
  console.log(
    `  checked ${fmtInt(r.checked)} (client, channel, offset): lost ${r.lost} (of which ${r.lostNotBack} by clients not back at the end), ` +
      `duplicated on the wire ${r.dupOffsets}; published ${fmtInt(r.published.accepted)} accepted, ${fmtInt(r.published.failed)} failed (server down)`,
  );
  if (Object.keys(r.connectErrors).length) console.log(`  connect errors: ${JSON.stringify(r.connectErrors)}`);
  if (r.loaderErrors.length) console.log(`  loader notes: ${r.loaderErrors.slice(0, 5).join(' | ')}`);
  if (opts.cpuProf)
    console.log(
      '  CPU profile of the restarted server in bench/results/prof/ (node bench/tools/profile-top.js <file>)',
    );
}
