/**
 * The presence tracker's own CPU cost, without sockets: N users join one members channel spread
 * over S seconds, on the built tracker and memory store of a checkout; each frame the tracker hands
 * over is JSON-encoded once, as Socket.IO encodes a broadcast, and counted per recipient (the room's
 * subscribers so far, less those a diff leaves out). Reports the process's CPU time (what a busy
 * box distorts least), store reads, frames and bytes sent. Run two checkouts one after the other
 * (or alternating) for a paired before/after:
 *
 *   node bench/tools/presence-cost.js [--root DIR] [--members 5000] [--seconds 10] [--batch-ms-per-member 0.2]
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: '.' },
    members: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    'batch-ms-per-member': { type: 'string' },
  },
});
const root = resolve(values.root);
const N = Number(values.members);
const spreadMs = Number(values.seconds) * 1000;
const load = (file) => import(pathToFileURL(`${root}/packages/server/dist/presence/${file}`).href);
const { PresenceTracker } = await load('tracker.js');
const { MemoryPresenceStore } = await load('memory-presence-store.js');
const { resolvePresenceOptions } = await load('presence-options.js');
const { LocalLastSeen } = await load('last-active.js');
const { pino } = await import('pino');

const CHANNEL = 'bench:presence';
const store = new MemoryPresenceStore();
let memberReads = 0;
const members = store.members.bind(store);
store.members = (tenant, channel) => {
  memberReads++;
  return members(tenant, channel);
};
/** connIds in the channel's room so far (they join it at `sub`, before the tracker hears of them). */
const room = new Set();
const sent = { diffs: 0, snapshots: 0, frames: 0, bytes: 0, encodedBytes: 0 };
const encode = (frame) => JSON.stringify(['presence', frame]).length + 2; // `42` + the Socket.IO event
const tracker = new PresenceTracker({
  store,
  options: resolvePresenceOptions({
    channels: [{ pattern: CHANNEL }],
    ...(values['batch-ms-per-member'] ? { batchMsPerMember: Number(values['batch-ms-per-member']) } : {}),
  }),
  nodeId: () => 'node-1',
  broadcast: (_tenant, _channel, frame, except = []) => {
    const bytes = encode(frame);
    const to = room.size - except.length;
    sent.diffs++;
    sent.frames += to;
    sent.bytes += bytes * to;
    sent.encodedBytes += bytes;
  },
  sendSnapshot: (ids, frame) => {
    const bytes = encode(frame);
    sent.snapshots++;
    sent.frames += ids.length;
    sent.bytes += bytes * ids.length;
    sent.encodedBytes += bytes;
  },
  lastSeen: new LocalLastSeen(),
  log: pino({ level: 'silent' }),
  now: () => Date.now(),
});

const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((done) => {
  let joined = 0;
  for (let i = 0; i < N; i++) {
    setTimeout(
      () => {
        const caller = { tenant: 'bench', sub: `bench-${i}`, deviceId: `d-${i}` };
        const connId = `c${i}`;
        tracker.connected(connId, caller);
        room.add(connId);
        tracker.subscribed(connId, caller, CHANNEL);
        if (++joined === N) done();
      },
      (spreadMs * i) / N,
    );
  }
});
// Past the last window (at most maxBatchMs) and the last snapshot.
await new Promise((r) => setTimeout(r, 2500));
const cpu = process.cpuUsage(cpu0);
tracker.close();
const cpuS = (cpu.user + cpu.system) / 1e6;
console.log(
  JSON.stringify({
    root,
    members: N,
    seconds: Number(values.seconds),
    wallS: +((performance.now() - t0) / 1000).toFixed(1),
    cpuS: +cpuS.toFixed(2),
    memberReads,
    diffBroadcasts: sent.diffs,
    snapshotFrames: sent.snapshots,
    framesSent: sent.frames,
    mibSent: +(sent.bytes / 2 ** 20).toFixed(1),
    mibEncoded: +(sent.encodedBytes / 2 ** 20).toFixed(1),
  }),
);
