/**
 * Scenario `deflate`: what `permessage-deflate` saves on the wire and costs the server. One Tether
 * server (memory store) per setting — off, on at Socket.IO's 1024-byte threshold, on for every
 * frame (threshold 0) — C clients on one channel (raw `ws` clients offering the extension, as
 * socket.io-client does), messages published at a fixed rate with the fanout payload (~200 B of
 * JSON whose 150-character pad is one letter repeated: compression's best case). Bytes: what the
 * clients' TCP sockets read during the step, per message delivered. CPU: the server's CPU time per
 * message delivered.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child } from '../lib/rpc.js';
import { table } from '../lib/format.js';
import { FrameClient, socketUrl } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { quietBox, serverEnv } from '../lib/ladder.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CHANNEL = 'bench:deflate';
const TENANT = 'bench';

export const deflateDefaults = {
  clients: 500,
  rate: 20,
  seconds: 10,
  quietWaitSeconds: 10,
  quietBelowPct: 25,
  resultsDir: here('../results/'),
};

export const DEFLATE_SETTINGS = {
  off: false,
  'on-1024': true,
  'on-0': { threshold: 0 },
};

async function connectAll(url, secret, count) {
  const sockets = [];
  const clients = [];
  let messages = 0;
  const wsOptions = {
    perMessageDeflate: true,
    createConnection: (options) => {
      const socket = net.connect({ ...options, path: undefined });
      sockets.push(socket);
      return socket;
    },
  };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  for (let i = 0; i < count; i++) {
    const token = signJwt({ sub: `deflate-${i}`, tenant: TENANT, channels: ['bench:*'], exp }, secret);
    const c = { fc: null, high: 0 };
    c.fc = new FrameClient({
      url,
      auth: { token, deviceId: `deflate-dev-${i}` },
      wsOptions,
      onEvent: (event, args) => {
        if (event !== 'msg') return;
        const frame = args[0];
        for (const m of frame.messages) {
          messages++;
          if (m.offset > c.high) c.high = m.offset;
        }
      },
    });
    await c.fc.connect(20_000);
    await c.fc.request('sub', { channel: CHANNEL }, 20_000);
    clients.push(c);
  }
  const bytesRead = () => sockets.reduce((a, s) => a + s.bytesRead, 0);
  const acker = setInterval(() => {
    for (const c of clients) if (c.high > 0) c.fc.sendRaw(`42["ack",{"acks":{"${CHANNEL}":${c.high}}}]`);
  }, 1000);
  return {
    clients,
    bytesRead,
    messages: () => messages,
    extensions: () => clients[0]?.fc.ws?.extensions ?? '',
    close: () => {
      clearInterval(acker);
      for (const c of clients) c.fc.close();
    },
  };
}

async function runSetting(name, opts) {
  const secret = randomBytes(24).toString('hex');
  const result = { setting: name, errors: [] };
  result.backgroundCpuPct = await quietBox(opts);
  const deflate = DEFLATE_SETTINGS[name];
  const server = new Child(here('../servers/tether-server.js'), {
    name: `deflate-${name}`,
    env: {
      ...serverEnv(secret, 'memory', CHANNEL),
      BENCH_SERVER_OPTIONS: JSON.stringify({ perMessageDeflate: deflate }),
    },
  });
  let conn = null;
  try {
    const ready = await server.waitFor('ready', 30_000);
    conn = await connectAll(socketUrl('127.0.0.1', ready.port), secret, opts.clients);
    result.extensions = conn.extensions();
    await sleep(500);
    const before = { bytes: conn.bytesRead(), messages: conn.messages(), server: await server.call('stats') };
    await server.call('step', { step: 0, rate: opts.rate, seconds: opts.seconds }, (opts.seconds + 30) * 1000);
    await sleep(2000); // the last frames arrive
    const after = { bytes: conn.bytesRead(), messages: conn.messages(), server: await server.call('stats') };
    const delivered = after.messages - before.messages;
    const cpuMs = after.server.cpuMs - before.server.cpuMs;
    Object.assign(result, {
      delivered,
      expected: opts.rate * opts.seconds * opts.clients,
      bytes: after.bytes - before.bytes,
      bytesPerMessage: (after.bytes - before.bytes) / Math.max(1, delivered),
      serverCpuMs: cpuMs,
      serverCpuUsPerMessage: (cpuMs * 1000) / Math.max(1, delivered),
      serverCpuPct: (cpuMs / (after.server.at - before.server.at || 1)) * 100,
    });
    console.log(
      `  ${name}: extensions "${result.extensions}", ${delivered} messages, ` +
        `${result.bytesPerMessage.toFixed(0)} B/message on the wire, server ${result.serverCpuUsPerMessage.toFixed(1)} µs CPU/message`,
    );
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    console.log(`  ${name} failed: ${result.errors[0]}`);
  } finally {
    conn?.close();
    await server.stop(8000);
  }
  return result;
}

/** @param {typeof deflateDefaults & {only: string[] | null}} opts */
export async function runDeflate(opts) {
  const results = [];
  for (const name of opts.only ?? Object.keys(DEFLATE_SETTINGS)) results.push(await runSetting(name, opts));
  const off = results.find((r) => r.setting === 'off');
  console.log(`\ndeflate: ${opts.clients} clients on one channel, ${opts.rate} msg/s for ${opts.seconds} s, loopback`);
  console.log(
    table(
      ['setting', 'negotiated', 'delivered', 'B/message on wire', 'vs off', 'server µs CPU/message', 'vs off'],
      results.map((r) => [
        r.setting,
        r.extensions ? 'yes' : 'no',
        String(r.delivered ?? 0),
        r.bytesPerMessage?.toFixed(0) ?? '-',
        off?.bytesPerMessage && r.bytesPerMessage ? `${(r.bytesPerMessage / off.bytesPerMessage).toFixed(2)}×` : '-',
        r.serverCpuUsPerMessage?.toFixed(1) ?? '-',
        off?.serverCpuUsPerMessage && r.serverCpuUsPerMessage
          ? `${(r.serverCpuUsPerMessage / off.serverCpuUsPerMessage).toFixed(2)}×`
          : '-',
      ]),
    ),
  );
  return { results };
}
