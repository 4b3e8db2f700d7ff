/**
 * Loader process: holds a share of the bench's light clients, subscribes them, checks every
 * delivered offset per client, acks cumulatively (once per ack interval per client, spread over the
 * interval) and reports per-step latency histograms, completeness and its own CPU on request.
 */
import { FrameClient } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { serve, usage } from '../lib/rpc.js';
import { ScanOut, scanBenchFrame, scanMsgFrame } from '../lib/msg-scan.js';
import { PAD_LENGTH } from '../lib/publisher.js';
import { LAT_MAX_MS, growCounts, newHistogram, toSparse } from '../lib/stats.js';

const BUCKET_MS = 10;
const MAX_OFFSET = 1 << 22;
const ACK_SLOTS = 10;
/** Acks remembered per client, to tell whether it was acking when the server sent a duplicate. */
const ACK_HISTORY = 8;

/**
 * `acks`: the last ACK_HISTORY acks it sent, as [time, offset] pairs (oldest overwritten);
 * `lastLiveSentAt`: the publish time of the newest message it received for the first time.
 * @type {Array<{idx: number, fc: FrameClient, counts: Uint8Array, base: number, contig: number, acked: number,
 *   ackedAt: number, acks: Float64Array, ackCount: number, lastLiveSentAt: number, alive: boolean, channel: string,
 *   needle: Buffer, ackPrefix: string}>}
 */
const clients = [];
let channel = 'bench:fanout';
let ackPrefix = '';
/**
 * Scenario `inbox`: each client reads its own inbox `user:bench-<idx>` (its own offsets), answers the
 * server's Socket.IO acks (`42<id>[…]` → `43<id>[]`), and a step's expected offsets differ per client
 * (`expect`, by step: the client at index `start + j` expects `first[j]..last[j]`, none when -1).
 */
let inbox = false;
let parseJson = false;
/** @type {Map<number, {start: number, first: number[], last: number[]}>} */
const expected = new Map();
let ackTimer = null;
/**
 * The server's ack timeout: a client whose ack moved within it is "acking", and a message it gets
 * again then is a redelivery the server should not have sent (see `wireDupsAcking`).
 */
let ackTimeoutMs = 4000;
const startedAt = Date.now();
/** Unique receipts per 10 ms bucket since `startedAt`. */
const buckets = new Uint32Array((30 * 60_000) / BUCKET_MS);
/**
 * Per step (of the message's publish): first receipts, wire duplicates (receipts of an offset the
 * client already had: bytes the server sent twice), those of them sent to the client while it was
 * acking (`wasAcking`), and app duplicates (a repeat above the client's contiguous position: one an SDK that
 * drops offsets at or below what it handled would still hand to the app).
 * @type {Map<number, {unique: number, dups: number, dupsAcking: number, appDups: number, frames: number, hist: Uint32Array}>}
 */
const steps = new Map();
const counters = {
  frames: 0,
  messages: 0,
  otherChannel: 0,
  belowBase: 0,
  badData: 0,
  /** Frames the layout scan could not read (the generic scan or JSON took them). */
  layoutFallbacks: 0,
  /** Event frames handed to JSON.parse (every non-`msg` event, and `msg` frames neither scan read). */
  scanFallbacks: 0,
  scanChecked: 0,
  scanMismatches: 0,
  /** The first few duplicate receipts, to tell where they come from. */
  dupSamples: /** @type {object[]} */ ([]),
  events: /** @type {Record<string, number>} */ ({}),
  disconnects: 0,
  errors: /** @type {string[]} */ ([]),
};

function stepStats(step) {
  let s = steps.get(step);
  if (s === undefined) {
    s = { unique: 0, dups: 0, dupsAcking: 0, appDups: 0, frames: 0, hist: newHistogram() };
    steps.set(step, s);
  }
  return s;
}

function note(msg) {
  if (counters.errors.length < 20) counters.errors.push(msg);
}

/** Messages of the frame being handled (filled by the scan or from JSON). */
const out = new ScanOut();
let channelNeedle = Buffer.from('"channel":"bench:fanout"');
/** Every this many scanned frames, the scan is checked against JSON.parse. */
const CHECK_EVERY = 499;
let scanned = 0;

/** Fast path: a `msg` frame read without JSON.parse; false hands the frame to the JSON path. */
function onRaw(c, buf) {
  if (inbox && buf[2] !== 0x5b) {
    // `42<id>[…]`: the server waits for an ack (emitWithAck). Answer it, then read the frame as
    // `42[…]` (the id's last two digits overwritten in place; the buffer is ours).
    let i = 2;
    while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
    c.fc.sendRaw('43' + buf.toString('latin1', 2, i) + '[]');
    buf[i - 2] = 0x34;
    buf[i - 1] = 0x32;
    buf = buf.subarray(i - 2);
  }
  if (parseJson) return false;
  let n = scanBenchFrame(buf, c.needle, out, PAD_LENGTH);
  if (n <= 0) {
    counters.layoutFallbacks++;
    n = scanMsgFrame(buf, c.needle, out);
  }
  if (n <= 0) {
    counters.scanFallbacks++;
    return false;
  }
  if (++scanned % CHECK_EVERY === 0) checkScan(c, buf, n);
  record(c, n);
  return true;
}

function checkScan(c, buf, n) {
  counters.scanChecked++;
  const [, frame] = JSON.parse(buf.toString('utf8', 2));
  const list = frame.messages;
  let ok = frame.channel === c.channel && list.length === n;
  for (let i = 0; ok && i < n; i++) {
    const m = list[i];
    ok = m.offset === out.offsets[i] && m.data.step === out.steps[i] && m.data.sentAt === out.sentAts[i];
  }
  if (!ok) {
    counters.scanMismatches++;
    note(`scan mismatch on frame ${buf.toString('utf8', 0, 200)}`);
  }
}

/** Slow path: a parsed `msg` frame. */
function onMsg(c, frame) {
  if (frame === null || typeof frame !== 'object' || frame.channel !== c.channel || !Array.isArray(frame.messages)) {
    counters.otherChannel++;
    return;
  }
  const list = frame.messages;
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    const d = m?.data;
    if (d === null || typeof d !== 'object' || typeof d.sentAt !== 'number' || typeof m.offset !== 'number') {
      counters.badData++;
      continue;
    }
    if (n >= out.offsets.length) out.grow();
    out.offsets[n] = m.offset;
    out.steps[n] = d.step;
    out.sentAts[n] = d.sentAt;
    n++;
  }
  if (n > 0) record(c, n);
}

/** Books the `n` messages in `out` for client `c`: offsets seen, first-receipt latency, acks. */
function record(c, n) {
  counters.frames++;
  const now = Date.now();
  stepStats(out.steps[0]).frames++;
  const b = ((now - startedAt) / BUCKET_MS) | 0;
  for (let i = 0; i < n; i++) {
    const o = out.offsets[i];
    counters.messages++;
    if (!(o > c.base) || o >= MAX_OFFSET) {
      counters.belowBase++;
      continue;
    }
    c.counts = growCounts(c.counts, o, MAX_OFFSET);
    const seen = c.counts[o];
    if (seen < 255) c.counts[o] = seen + 1;
    const s = stepStats(out.steps[i]);
    if (seen === 0) {
      s.unique++;
      if (out.sentAts[i] > c.lastLiveSentAt) c.lastLiveSentAt = out.sentAts[i];
      const lat = now - out.sentAts[i];
      s.hist[lat < 0 ? 0 : lat > LAT_MAX_MS ? LAT_MAX_MS : lat]++;
      if (b < buckets.length) buckets[b]++;
    } else {
      s.dups++;
      if (wasAcking(c, o)) s.dupsAcking++;
      if (o > c.contig) s.appDups++;
      if (counters.dupSamples.length < 8) {
        counters.dupSamples.push({
          client: c.idx,
          offset: o,
          at: now,
          frameFirst: out.offsets[0],
          frameSize: n,
          contig: c.contig,
          acked: c.acked,
          sinceAckMs: now - c.ackedAt,
          sinceLiveSentMs: now - c.lastLiveSentAt,
        });
      }
    }
  }
  const counts = c.counts;
  let k = c.contig;
  while (k + 1 < counts.length && counts[k + 1] !== 0) k++;
  c.contig = k;
}

/**
 * Was client `c` acking when the server sent it offset `o` again? The server wrote that copy after
 * the newest message the client had received before it (one socket keeps its order), so no earlier
 * than that message's publish time. Acking then = an ack it had sent by that time moved within the
 * ack timeout before it, or already covered `o`. (Counted against the server, by design: an ack in
 * flight, or read late by a lagging node, still counts as acking.)
 * @param {(typeof clients)[number]} c
 * @param {number} o
 */
function wasAcking(c, o) {
  const sentNoEarlierThan = c.lastLiveSentAt;
  const n = Math.min(c.ackCount, ACK_HISTORY);
  for (let k = 0; k < n; k++) {
    const slot = ((c.ackCount - 1 - k) % ACK_HISTORY) * 2;
    const at = c.acks[slot];
    if (at > sentNoEarlierThan) continue; // sent after the copy left the server
    return sentNoEarlierThan - at <= ackTimeoutMs || c.acks[slot + 1] >= o;
  }
  return false;
}

/** Notes an ack sent now up to `offset`. */
function noteAck(c, offset) {
  const slot = (c.ackCount % ACK_HISTORY) * 2;
  c.acks[slot] = Date.now();
  c.acks[slot + 1] = offset;
  c.ackCount++;
  c.ackedAt = c.acks[slot];
}

let tick = 0;
function ackTick() {
  const slot = tick++ % ACK_SLOTS;
  for (let i = slot; i < clients.length; i += ACK_SLOTS) {
    const c = clients[i];
    if (c.alive && c.contig > c.acked) {
      c.acked = c.contig;
      noteAck(c, c.contig);
      c.fc.sendRaw(c.ackPrefix + c.contig + '}}]');
    }
  }
}

async function connectOne(cfg, idx) {
  const sub = `bench-${idx}`;
  const own = inbox ? `user:${sub}` : channel;
  const c = {
    idx,
    fc: null,
    counts: new Uint8Array(inbox ? 64 : 1024),
    base: 0,
    contig: 0,
    acked: 0,
    ackedAt: 0,
    acks: new Float64Array(ACK_HISTORY * 2),
    ackCount: 0,
    lastLiveSentAt: 0,
    alive: false,
    channel: own,
    needle: inbox ? Buffer.from(`"channel":${JSON.stringify(own)}`) : channelNeedle,
    ackPrefix: inbox ? `42["ack",{"acks":{${JSON.stringify(own)}:` : ackPrefix,
  };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = signJwt({ sub, tenant: cfg.tenant, channels: cfg.channels, exp }, cfg.secret);
  c.fc = new FrameClient({
    url: cfg.url,
    auth: { token, deviceId: `bench-dev-${idx}` },
    onRawEvent: cfg.parse === 'json' && !inbox ? undefined : (buf) => onRaw(c, buf),
    onEvent: (event, args) => {
      if (event === 'msg') onMsg(c, args[0]);
      else {
        counters.events[event] = (counters.events[event] ?? 0) + 1;
        if (event === 'error' || event === 'resync') {
          note(
            `client ${idx} got ${event} at ${Date.now()} (handled up to ${c.contig}, acked ${c.acked}): ${JSON.stringify(args[0])}`,
          );
        }
      }
    },
    onClose: (code, reason) => {
      if (c.alive) {
        c.alive = false;
        counters.disconnects++;
        note(`client ${idx} closed: ${code} ${reason}`);
      }
    },
    onError: (err) => note(`client ${idx} error: ${err.message}`),
  });
  await c.fc.connect(cfg.timeoutMs);
  c.alive = true;
  const [reply] = await c.fc.request('sub', { channel: own }, cfg.timeoutMs);
  if (reply === null || typeof reply !== 'object' || 'error' in reply || typeof reply.offset !== 'number') {
    throw new Error(`sub refused: ${JSON.stringify(reply)}`);
  }
  c.base = reply.offset;
  c.contig = reply.offset;
  c.acked = reply.offset;
  noteAck(c, reply.offset); // its position: what it had before
  return c;
}

serve({
  async connect(cfg) {
    channel = cfg.channel;
    inbox = cfg.inbox === true;
    parseJson = cfg.parse === 'json';
    ackTimeoutMs = cfg.ackTimeoutMs ?? ackTimeoutMs;
    channelNeedle = Buffer.from(`"channel":${JSON.stringify(channel)}`);
    ackPrefix = `42["ack",{"acks":{${JSON.stringify(channel)}:`;
    const t0 = performance.now();
    let next = 0;
    let failed = 0;
    const lane = async () => {
      while (next < cfg.count) {
        const idx = cfg.startIndex + next++;
        try {
          clients.push(await connectOne(cfg, idx));
        } catch (err) {
          failed++;
          note(`client ${idx}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.count) }, lane));
    clients.sort((a, b) => a.idx - b.idx);
    if (ackTimer === null) ackTimer = setInterval(ackTick, cfg.ackIntervalMs / ACK_SLOTS);
    const bases = clients.map((c) => c.base);
    return {
      connected: clients.length,
      failed,
      ms: performance.now() - t0,
      baseMin: Math.min(...bases),
      baseMax: Math.max(...bases),
      errors: counters.errors.slice(0, 5),
    };
  },

  /** Scenario `inbox`: the offsets each of this loader's clients must get in step `step`. */
  expect({ step, start, first, last }) {
    expected.set(step, { start, first, last });
    return { step };
  },

  /** How many live clients have handled every offset up to `target` (inbox: their own of `step`). */
  progress({ target, step }) {
    let reached = 0;
    let alive = 0;
    const e = inbox ? expected.get(step) : undefined;
    for (const c of clients) {
      if (c.alive) alive++;
      const need = e === undefined ? target : (e.last[c.idx - e.start] ?? -1);
      if (c.contig >= need) reached++;
    }
    return { reached, alive, clients: clients.length };
  },

  /** Completeness and latency of one step: offsets `first..last`, window `t0..t1` (epoch ms). */
  report({ step, first, last, t0, t1 }) {
    let lost = 0;
    let dupOffsets = 0;
    let dupExtra = 0;
    let complete = 0;
    const e = inbox ? expected.get(step) : undefined;
    if (inbox && e === undefined) throw new Error(`inbox: no expected offsets for step ${step}`);
    for (const c of clients) {
      const counts = c.counts;
      let missing = 0;
      const from = e === undefined ? first : (e.first[c.idx - e.start] ?? -1);
      const to = e === undefined ? last : (e.last[c.idx - e.start] ?? -1);
      for (let o = from < 0 ? 0 : from; from >= 0 && o <= to; o++) {
        const n = o < counts.length ? counts[o] : 0;
        if (n === 0) missing++;
        else if (n > 1) {
          dupOffsets++;
          dupExtra += n - 1;
        }
      }
      lost += missing;
      if (missing === 0) complete++;
    }
    let inWindow = 0;
    const b0 = Math.max(0, Math.floor((t0 - startedAt) / BUCKET_MS));
    const b1 = Math.min(buckets.length, Math.floor((t1 - startedAt) / BUCKET_MS));
    for (let b = b0; b < b1; b++) inWindow += buckets[b];
    const s = stepStats(step);
    return {
      clients: clients.length,
      complete,
      lost,
      dupOffsets,
      dupExtra,
      unique: s.unique,
      dupsSeen: s.dups,
      dupsSeenAcking: s.dupsAcking,
      appDups: s.appDups,
      frames: s.frames,
      inWindow,
      hist: toSparse(s.hist),
    };
  },

  usage() {
    return { ...usage(), counters: { ...counters, errors: counters.errors.slice(0, 10) } };
  },

  exit() {
    if (ackTimer !== null) clearInterval(ackTimer);
    for (const c of clients) {
      c.alive = false;
      c.fc.close();
    }
  },
});
