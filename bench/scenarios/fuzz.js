/**
 * The long fuzz run: at least a million generated frames against a Tether server process, bounded
 * in time. Frames come from the fast-check arbitraries of @tether/testing (a pool sampled with a
 * fixed seed, sent round-robin): most sockets send valid-looking frames of every inbound event with
 * hostile values; a few send raw Engine.IO / Socket.IO packets of every type, which often make the
 * server close the connection (they reconnect). Each socket sends a window of frames, then a probe,
 * and waits for its reply before the next window, so the server is never queued without bound.
 * Figures: frames, frames/s, the server's RSS before and after, answers by code, reconnects, and
 * whether the server exited (it must not) and a bystander still gets its messages.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import WebSocket from 'ws';
import { engineIoPacket, eventFrame, eventPacket } from '@tether/testing';
import { Child } from '../lib/rpc.js';
import { signJwt } from '../lib/jwt.js';
import { socketUrl } from '../lib/frame-client.js';

export const fuzzDefaults = {
  frames: 1_000_000,
  sockets: 24,
  rawSockets: 4,
  window: 128,
  pool: 20_000,
  seconds: 240,
  seed: 7,
  resultsDir: fileURLToPath(new URL('../results/', import.meta.url)),
};

const CHANNELS = ['room:f0', 'room:f1', 'room:f2', 'user:fuzzer', 'user:other', 'secret:x', 'room:*'];
const API_KEY = `bench-fuzz-${randomBytes(12).toString('base64url')}`;
const PROBE_ID_BASE = 1_000_000_000;
const CODE = /"code":"([a-z_]+)"/;

/** Samples the frame pools once (deterministic for a seed). */
function pools(opts, tokens) {
  const events = fc
    .sample(eventFrame({ channels: CHANNELS, tokens }), { numRuns: opts.pool, seed: opts.seed })
    .map((frame, i) => `4${eventPacket(frame, i + 1)}`);
  const raw = fc
    .sample(engineIoPacket, { numRuns: Math.ceil(opts.pool / 4), seed: opts.seed + 1 })
    .map((p) => (typeof p === 'string' ? p : Buffer.from(p)));
  return { events, raw };
}

/** One fuzzing socket: connects, sends windows of frames with a probe after each, reconnects when closed. */
async function fuzzSocket(url, token, pool, shared, opts) {
  let cursor = Math.floor(Math.random() * pool.length);
  let probeId = PROBE_ID_BASE;
  while (!shared.done()) {
    const ws = new WebSocket(url);
    let closed = false;
    let waiting = null; // resolves when the awaited probe reply (or a close) arrives
    ws.on('error', () => undefined);
    const opened = new Promise((resolve) => {
      ws.on('message', (data, binary) => {
        if (binary) return;
        const text = data.toString();
        if (text === '2') return ws.send('3');
        if (text.startsWith('0{')) return ws.send(`40${JSON.stringify({ token })}`);
        if (text.startsWith('40{')) return resolve(true);
        if (text.startsWith('44')) return resolve(false);
        if (text.startsWith(`43${probeId}[`)) {
          waiting?.();
          return;
        }
        if (text.startsWith('43') || text.startsWith('42["error"')) {
          const code = CODE.exec(text)?.[1] ?? 'ok';
          shared.codes[code] = (shared.codes[code] ?? 0) + 1;
        }
      });
      ws.on('close', () => {
        closed = true;
        resolve(false);
        waiting?.();
      });
    });
    if (!(await opened)) {
      shared.failedConnects++;
      ws.terminate();
      continue;
    }
    shared.connects++;
    while (!closed && !shared.done()) {
      for (let i = 0; i < opts.window && !closed; i++) {
        ws.send(pool[cursor++ % pool.length]);
        shared.frames++;
      }
      probeId++;
      const replied = new Promise((resolve) => {
        waiting = resolve;
      });
      ws.send(`42${probeId}["probe",{"ts":0}]`);
      // No reply and no close: the packets left the namespace (`41`) or await attachments; the
      // next window's events make the server close the connection.
      let stallTimer;
      const stall = new Promise((resolve) => (stallTimer = setTimeout(() => resolve('stall'), 2000)));
      if ((await Promise.race([replied, stall])) === 'stall') shared.stalls++;
      clearTimeout(stallTimer);
      waiting = null;
    }
    if (closed) shared.closedByServer++;
    ws.terminate();
  }
}

/** A bystander on `room:watch`: must get a message published over HTTP after the run. */
async function bystanderSees(url, token, httpUrl) {
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  const marker = `still-here-${randomBytes(6).toString('hex')}`;
  const seen = new Promise((resolve) => {
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '2') ws.send('3');
      else if (text.startsWith('0{')) ws.send(`40${JSON.stringify({ token })}`);
      else if (text.startsWith('40{')) ws.send('421["sub",{"channel":"room:watch"}]');
      else if (text.startsWith('431[')) {
        void globalThis.fetch(`${httpUrl}/v1/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ channel: 'room:watch', type: 't', data: marker }),
        });
      } else if (text.includes(marker)) resolve(true);
    });
    setTimeout(() => resolve(false), 10_000);
  });
  const ok = await seen;
  ws.terminate();
  return ok;
}

export async function runFuzz(opts) {
  const secret = randomBytes(32).toString('base64url');
  const server = new Child(fileURLToPath(new URL('../servers/fuzz-server.js', import.meta.url)), {
    name: 'tether',
    execArgv: [
      '--expose-gc',
      ...(process.env.BENCH_FUZZ_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_FUZZ_PROF] : []),
    ],
    env: { ...process.env, BENCH_JWT_SECRET: secret, BENCH_API_KEY: API_KEY },
  });
  let exit = null;
  void server.exited.then((e) => (exit = e));
  try {
    const { port } = await server.waitFor('ready', 30_000);
    const url = socketUrl('127.0.0.1', port);
    const httpUrl = `http://127.0.0.1:${port}`;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const claims = { tenant: 'default', channels: ['room:*', 'user:*'], publish: ['room:f*'], exp };
    const tokens = [
      signJwt({ ...claims, sub: 'fuzzer' }, secret),
      signJwt({ ...claims, sub: 'other' }, secret),
      signJwt({ ...claims, sub: 'fuzzer', exp: exp - 7200 }, secret),
    ];
    const started = Date.now();
    const { events, raw } = pools(opts, tokens);
    console.log(
      `fuzz: pools of ${events.length} event frames and ${raw.length} raw packets sampled in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s (seed ${opts.seed})`,
    );
    const before = await server.call('gc');
    const shared = {
      frames: 0,
      codes: {},
      connects: 0,
      failedConnects: 0,
      closedByServer: 0,
      stalls: 0,
      deadline: Date.now() + opts.seconds * 1000,
      done() {
        return this.frames >= opts.frames || Date.now() >= this.deadline || exit !== null;
      },
    };
    const t0 = performance.now();
    const progress = setInterval(() => {
      const s = (performance.now() - t0) / 1000;
      console.log(`  ${s.toFixed(0)} s: ${shared.frames} frames, ${(shared.frames / s).toFixed(0)}/s`);
    }, 10_000);
    await Promise.all([
      ...Array.from({ length: opts.sockets }, () => fuzzSocket(url, tokens[0], events, shared, opts)),
      ...Array.from({ length: opts.rawSockets }, () => fuzzSocket(url, tokens[0], raw, shared, opts)),
    ]);
    clearInterval(progress);
    const seconds = (performance.now() - t0) / 1000;
    const alive = exit === null;
    const after = alive ? await server.call('gc') : null;
    const stats = alive ? (await server.call('stats')).tether : null;
    const healthz = alive ? (await globalThis.fetch(`${httpUrl}/healthz`)).status : null;
    const bystanderOk = alive ? await bystanderSees(url, tokens[1], httpUrl) : false;
    const result = {
      frames: shared.frames,
      seconds: Number(seconds.toFixed(1)),
      framesPerSecond: Math.round(shared.frames / seconds),
      rssBeforeMB: Number((before.rss / 2 ** 20).toFixed(1)),
      rssAfterMB: after ? Number((after.rss / 2 ** 20).toFixed(1)) : null,
      answersByCode: Object.fromEntries(Object.entries(shared.codes).sort(([, a], [, b]) => b - a)),
      connects: shared.connects,
      failedConnects: shared.failedConnects,
      closedByServer: shared.closedByServer,
      stalls: shared.stalls,
      exits: alive ? 0 : 1,
      exit,
      healthz,
      bystanderOk,
      published: stats?.published ?? null,
      rejectedFrames: stats?.rejectedFrames ?? null,
    };
    console.log(JSON.stringify(result, null, 2));
    return { results: [result], ok: alive && bystanderOk && !('internal' in shared.codes) };
  } finally {
    await server.stop();
  }
}
