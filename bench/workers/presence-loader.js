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
  /** Sampled frames whose scan disagreed with JSON.parse (must stay 0). */
  scanMismatches: 0,
};
/** @type {string[]} */
const errors = [];
let capacity = 0;

const SECTIONS = ['members', 'join', 'leave', 'update'].map((name) => ({ name, needle: Buffer.from(`"${name}":[`) }));
/** A member entry is `"bench-<n>"` alone or `{"sub":"bench-<n>",…}`, a leave `"bench-<n>"`: this finds all three. */
const ITEM = Buffer.from('"bench-');
/** Frames also read with JSON.parse, to check the scan (one in CHECK_EVERY). */
const CHECK_EVERY = 500;

/**
 * Reads a presence frame's user indexes without JSON.parse (a frame of 5000 members is 250 KB, and
 * the loaders read over a GB in a run): the sections `members`, `join`, `leave`, `update` in the
 * order they appear, each up to the next, and in each the `bench-<n>` of every entry (either wire
 * form of a member: the sub alone, or the whole member).
 * @param {Buffer} buf
 */
function scanFrame(buf) {
  const found = SECTIONS.map((s) => ({ ...s, at: buf.indexOf(s.needle) }))
    .filter((s) => s.at >= 0)
    .sort((a, b) => a.at - b.at);
  /** @type {{members: number[] | null, join: number[], leave: number[], update: number[]}} */
  const out = { members: null, join: [], leave: [], update: [] };
  found.forEach((s, i) => {
    const end = i + 1 < found.length ? found[i + 1].at : buf.length;
    out[s.name] = itemsIn(buf, s.at, end);
  });
  return out;
}

/**
 * The `<n>` of every `"bench-<n>` in `buf[from, end)`: a byte loop that stops at each `-` and looks
 * back, about 4× cheaper than one `indexOf` call per entry (a snapshot holds thousands), so the
 * loaders take less of the box the server shares with them.
 * @param {Buffer} buf @param {number} from @param {number} end
 */
function itemsIn(buf, from, end) {
  const ids = [];
  const last = ITEM.length - 1; // the `-`
  for (let k = from + last; k < end; k++) {
    if (buf[k] !== 0x2d) continue;
    let item = true;
    for (let j = 1; j <= last && item; j++) item = buf[k - j] === ITEM[last - j];
    if (!item) continue;
    let n = 0;
    let d = k + 1;
    for (; buf[d] >= 0x30 && buf[d] <= 0x39; d++) n = n * 10 + buf[d] - 0x30;
    ids.push(n);
    k = d;
  }
  return ids;
}

/** The same from JSON.parse: checks the scan on a sample. */
function parseFrame(buf) {
  const [, frame] = JSON.parse(buf.toString('utf8', 2));
  const idx = (sub) => Number(sub.slice(6));
  const entry = (m) => idx(typeof m === 'string' ? m : m.sub);
  return {
    members: frame.members ? frame.members.map(entry) : null,
    join: (frame.join ?? []).map(entry),
    leave: (frame.leave ?? []).map(idx),
    update: (frame.update ?? []).map(entry),
  };
}

/** @param {{size: number, bits: Uint8Array}} c @param {number} i */
function add(c, i) {
  const mask = 1 << (i & 7);
  if (c.bits[i >> 3] & mask) return false;
  c.bits[i >> 3] |= mask;
  c.size++;
  return true;
}

/** @param {{size: number, bits: Uint8Array}} c @param {ReturnType<typeof scanFrame>} frame */
function apply(c, frame) {
  if (frame.members) {
    counters.snapshots++;
    counters.learned += frame.members.length;
    c.bits.fill(0);
    c.size = 0;
    for (const i of frame.members) add(c, i);
  }
  for (const i of frame.join) {
    counters.joins++;
    counters.learned++;
    if (!add(c, i)) counters.repeatedJoins++;
  }
  for (const i of frame.leave) {
    counters.leaves++;
    const mask = 1 << (i & 7);
    if (c.bits[i >> 3] & mask) {
      c.bits[i >> 3] &= ~mask;
      c.size--;
    } else counters.unknownLeaves++;
  }
  counters.updates += frame.update.length;
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
        const frame = scanFrame(buf);
        if (counters.frames % CHECK_EVERY === 0 && JSON.stringify(parseFrame(buf)) !== JSON.stringify(frame)) {
          counters.scanMismatches++;
        }
        apply(c, frame);
      } else counters.otherFrames++;
      return true;
    };
    // A `server busy` refusal (at the handshake, or a 503 before it) is retried after its hint, as the SDK does.
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
        if (/server busy|server response: 503/.test(message) && Date.now() + 2000 < deadline) {
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
