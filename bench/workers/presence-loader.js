/**
 * Presence loader process (scenario `presence`): holds a share of the light clients, each a user
 * of its own (`bench-<index>`) that joins one presence channel at its scheduled time, and keeps the
 * member list the channel's `presence` frames give it (a snapshot, then joins and leaves) as a
 * bitset by user index, so that 5000 lists of 5000 cost a few MB. A join of a member the list
 * already holds (a diff overlapping the snapshot) is booked as a repeat, a leave of one it does not
 * hold as unknown. Counts every presence frame and its bytes (the Engine.IO text frame as
 * received), so the frames and bytes the server sent are the sums over all loaders.
 */
import { FrameClient } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { serve, usage } from '../lib/rpc.js';

const PRESENCE_PREFIX = Buffer.from('42["presence"');

/** @type {Array<{fc: FrameClient, size: number, bits: Uint8Array}>} */
const clients = [];
const counters = {
  connected: 0,
  failed: 0,
  frames: 0,
  bytes: 0,
  snapshots: 0,
  /** Members learned: snapshot entries plus joins (≈ N per client when each member learns each other once). */
  learned: 0,
  joins: 0,
  leaves: 0,
  updates: 0,
  /** Joins of a member the list already held, leaves of one it did not. */
  repeatedJoins: 0,
  unknownLeaves: 0,
  otherFrames: 0,
  /** Connects refused as `server busy` and tried again after the hint. */
  busyRetries: 0,
};
/** @type {string[]} */
const errors = [];
let capacity = 0;

/** `bench-17` → 17. */
const indexOf = (sub) => Number(sub.slice(6));

/** @param {{size: number, bits: Uint8Array}} c @param {number} i */
function add(c, i) {
  const mask = 1 << (i & 7);
  if (c.bits[i >> 3] & mask) return false;
  c.bits[i >> 3] |= mask;
  c.size++;
  return true;
}

/** @param {{size: number, bits: Uint8Array}} c @param {any} frame */
function apply(c, frame) {
  if (frame.members) {
    counters.snapshots++;
    counters.learned += frame.members.length;
    c.bits.fill(0);
    c.size = 0;
    for (const m of frame.members) add(c, indexOf(m.sub));
  }
  for (const m of frame.join ?? []) {
    counters.joins++;
    counters.learned++;
    if (!add(c, indexOf(m.sub))) counters.repeatedJoins++;
  }
  for (const sub of frame.leave ?? []) {
    counters.leaves++;
    const i = indexOf(sub);
    const mask = 1 << (i & 7);
    if (c.bits[i >> 3] & mask) {
      c.bits[i >> 3] &= ~mask;
      c.size--;
    } else counters.unknownLeaves++;
  }
  counters.updates += frame.update?.length ?? 0;
}

/**
 * Connects `count` clients (users `bench-<startIndex + k>`), spread evenly over `spreadMs`, each
 * subscribing to `channel`; resolves when all have tried.
 * @param {{url: string, channel: string, secret: string, tenant: string, startIndex: number, count: number,
 *   total: number, spreadMs: number, timeoutMs: number}} args   `total`: users in the run (the lists' capacity)
 */
async function connect(args) {
  capacity = Math.max(capacity, args.total);
  const t0 = Date.now();
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const one = async (k) => {
    const at = t0 + (args.spreadMs * k) / Math.max(1, args.count);
    if (at > Date.now()) await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
    const idx = args.startIndex + k;
    const token = signJwt({ sub: `bench-${idx}`, tenant: args.tenant, channels: ['bench:*'], exp }, args.secret);
    const c = { fc: /** @type {FrameClient | null} */ (null), size: 0, bits: new Uint8Array((capacity >> 3) + 1) };
    const onRawEvent = (buf) => {
      if (buf.subarray(0, PRESENCE_PREFIX.length).equals(PRESENCE_PREFIX)) {
        counters.frames++;
        counters.bytes += buf.length;
        const [, frame] = JSON.parse(buf.toString('utf8', 2));
        if (frame.channel === args.channel) apply(c, frame);
      } else counters.otherFrames++;
      return true;
    };
    // A `server busy` refusal is retried after its hint, as the SDK does, until the deadline.
    const deadline = Date.now() + args.timeoutMs;
    for (;;) {
      const fc = new FrameClient({ url: args.url, auth: { token, deviceId: `d-${idx}` }, onRawEvent });
      c.fc = fc;
      try {
        await fc.connect(args.timeoutMs);
        const [reply] = await fc.request('sub', { channel: args.channel }, args.timeoutMs);
        if (reply && typeof reply === 'object' && 'error' in reply)
          throw new Error(`sub: ${JSON.stringify(reply.error)}`);
        clients.push(/** @type {any} */ (c));
        counters.connected++;
        return;
      } catch (err) {
        fc.close();
        const message = err instanceof Error ? err.message : String(err);
        if (/server busy/.test(message) && Date.now() + 2000 < deadline) {
          counters.busyRetries++;
          await new Promise((resolve) => setTimeout(resolve, 2000 + Math.random() * 500));
          continue;
        }
        counters.failed++;
        if (errors.length < 5) errors.push(message);
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: args.count }, (_, k) => one(k)));
  return { connected: counters.connected, failed: counters.failed, errors, seconds: (Date.now() - t0) / 1000 };
}

/** @param {{target: number}} args */
function stats(args) {
  let converged = 0;
  let minSize = Infinity;
  let maxSize = -Infinity;
  for (const c of clients) {
    if (c.size === args.target) converged++;
    minSize = Math.min(minSize, c.size);
    maxSize = Math.max(maxSize, c.size);
  }
  return {
    ...counters,
    clients: clients.length,
    converged,
    minSize: clients.length ? minSize : null,
    maxSize: clients.length ? maxSize : null,
    errors,
    usage: usage(),
  };
}

serve({
  connect,
  stats,
  exit() {
    for (const c of clients) c.fc.close();
  },
});

process.send?.({ type: 'ready' });
