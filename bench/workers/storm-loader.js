/**
 * Loader process of scenario `storm`: holds a share of the light clients, each user `bench-<idx>`
 * on its inbox `user:bench-<idx>` and the shared channel `room:all`. Each client keeps its handled
 * position per channel (contiguous offsets) and acks it cumulatively; when its socket drops it
 * reconnects on its own, as the SDK does: a fresh socket per attempt, the handshake `positions`
 * (epoch + handled offset per channel), full-jitter exponential backoff (SDK defaults), a connect
 * timeout, and a server's retry hint (`Retry-After` on a 429/503 refusal) obeyed with jitter.
 * Records per client when it was back (CONNECT answered) and when it had caught up with the heads
 * the server had at the restart; at the end every (client, channel, offset) is checked once.
 */
import { FrameClient } from '../lib/frame-client.js';
import { signJwt } from '../lib/jwt.js';
import { serve, usage } from '../lib/rpc.js';
import { growCounts } from '../lib/stats.js';

const ROOM = 'room:all';
const ACK_SLOTS = 10;
const MAX_OFFSET = 1 << 22;

/**
 * @typedef {{ epoch: string | undefined, contig: number, acked: number, base: number, counts: Uint8Array }} Track
 * @typedef {{ idx: number, fc: FrameClient | null, alive: boolean, inbox: string, room: Track, own: Track,
 *   attempts: number, retryAfterMs: number, timer: NodeJS.Timeout | null, backAt: number, caughtAt: number,
 *   needRoom: number, needOwn: number, token: string }} Client
 */

/** @type {Client[]} */
const clients = [];
/** @type {any} */
let cfg = null;
let ackTimer = null;
/** Epoch ms of the restart (server ready again); 0 before. */
let restartAt = 0;
let stopping = false;
const counters = {
  frames: 0,
  messages: 0,
  belowBase: 0,
  resyncs: 0,
  disconnects: 0,
  attempts: 0,
  connectTimeouts: 0,
  /** Refusals by HTTP status (429 rate/cap, 503 busy) with a Retry-After hint. */
  refused: /** @type {Record<string, number>} */ ({}),
  connectErrors: /** @type {Record<string, number>} */ ({}),
  errors: /** @type {string[]} */ ([]),
};

function note(msg) {
  if (counters.errors.length < 20) counters.errors.push(msg);
}

function track() {
  return { epoch: undefined, contig: 0, acked: 0, base: 0, counts: new Uint8Array(64) };
}

/** Books offset `o` of a channel; moves its contiguous handled position. */
function book(t, o) {
  if (!(o > t.base) || o >= MAX_OFFSET) {
    counters.belowBase++;
    return;
  }
  t.counts = growCounts(t.counts, o, MAX_OFFSET);
  if (t.counts[o] < 255) t.counts[o]++;
  let k = t.contig;
  while (k + 1 < t.counts.length && t.counts[k + 1] !== 0) k++;
  t.contig = k;
}

function checkCaught(c) {
  if (restartAt === 0 || c.caughtAt !== 0 || c.backAt === 0) return;
  if (c.room.contig >= c.needRoom && c.own.contig >= c.needOwn) c.caughtAt = Date.now();
}

function onMsg(c, frame) {
  if (frame === null || typeof frame !== 'object' || !Array.isArray(frame.messages)) return;
  const t = frame.channel === ROOM ? c.room : frame.channel === c.inbox ? c.own : null;
  if (t === null) return note(`client ${c.idx}: msg on ${frame.channel}`);
  counters.frames++;
  t.epoch = frame.epoch;
  for (const m of frame.messages) {
    counters.messages++;
    book(t, m.offset);
  }
  // Replayed batches may skip offsets the relevance rules dropped: `upTo` moves the position.
  if (typeof frame.upTo === 'number' && frame.upTo > t.contig) {
    for (let o = t.contig + 1; o <= frame.upTo; o++) if (o >= t.counts.length || t.counts[o] === 0) book(t, o);
  }
  checkCaught(c);
}

function positions(c) {
  const p = { [c.inbox]: { offset: c.own.contig }, [ROOM]: { offset: c.room.contig } };
  if (c.own.epoch) p[c.inbox].epoch = c.own.epoch;
  if (c.room.epoch) p[ROOM].epoch = c.room.epoch;
  return p;
}

/**
 * The SDK's backoff: full jitter under a cap growing ×2 from 1 s to 30 s; after an attempt the
 * server never answered (refused, reset: `reconnect.unreachableMaxDelayMs`) the cap is at most
 * `unreachableMaxDelayMs`.
 */
function backoffMs(attempt, unanswered) {
  let cap = Math.min(cfg.maxDelayMs, cfg.initialDelayMs * 2 ** Math.min(attempt, 30));
  if (unanswered) cap = Math.min(cap, cfg.unreachableMaxDelayMs);
  return Math.floor(Math.random() * cap);
}

function scheduleReconnect(c, unanswered = false) {
  if (stopping || c.timer !== null) return;
  let delay = backoffMs(c.attempts, unanswered);
  // A server's hint is a floor; jitter on top spreads the crowd it refused (as the SDK does).
  if (c.retryAfterMs > 0) delay = Math.max(delay, c.retryAfterMs + Math.floor(Math.random() * c.retryAfterMs));
  c.retryAfterMs = 0;
  c.timer = setTimeout(() => {
    c.timer = null;
    void attempt(c);
  }, delay);
}

async function attempt(c) {
  if (stopping) return;
  c.attempts++;
  counters.attempts++;
  const fc = new FrameClient({
    url: cfg.url,
    auth: { token: c.token, deviceId: `bench-dev-${c.idx}`, positions: positions(c) },
    onEvent: (event, args) => {
      if (event === 'msg') onMsg(c, args[0]);
      else if (event === 'resync') {
        counters.resyncs++;
        const r = args[0];
        note(`client ${c.idx} resync ${JSON.stringify(r)}`);
        const t = r?.channel === ROOM ? c.room : c.own;
        // Reload state: the position jumps to the server's offset (what is skipped is reported lost).
        t.epoch = r?.epoch;
        t.contig = Math.max(t.contig, r?.offset ?? 0);
      } else if (event === 'error') note(`client ${c.idx} error frame ${JSON.stringify(args[0])}`);
    },
    onClose: () => {
      // Only a connection that was up: a failed connect closes too (`ws` emits `error`, then
      // `close`, before the connect promise's rejection runs), and its retry is the catch below's,
      // with the cap its failure deserves. Scheduled here first, every refused attempt took the
      // answered cap (up to 30 s), which the SDK does not (session 12: the storm's last client).
      if (c.fc !== fc || !c.alive) return;
      counters.disconnects++;
      c.alive = false;
      scheduleReconnect(c);
    },
    onError: () => undefined,
  });
  c.fc = fc;
  const connecting = fc.connect(cfg.connectTimeoutMs);
  // A refusal before the upgrade: read its status and Retry-After instead of a bare error.
  fc.ws?.once('unexpected-response', (_req, res) => {
    const status = res.statusCode ?? 0;
    counters.refused[status] = (counters.refused[status] ?? 0) + 1;
    const seconds = Number(res.headers['retry-after']);
    if (Number.isFinite(seconds) && seconds > 0) c.retryAfterMs = seconds * 1000;
    res.resume();
    fc.ws?.terminate();
  });
  try {
    await connecting;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const timedOut = message.startsWith('connect timeout');
    if (timedOut) counters.connectTimeouts++;
    const key = message.replace(/\d+/g, 'N').slice(0, 60);
    counters.connectErrors[key] = (counters.connectErrors[key] ?? 0) + 1;
    // A CONNECT_ERROR's hint (server_busy past the gate) is obeyed as the SDK does.
    const hint = /** @type {{data?: {retryAfterMs?: unknown}}} */ (err).data?.retryAfterMs;
    if (typeof hint === 'number' && hint > 0) c.retryAfterMs = hint;
    // As the SDK sees it: a timeout or a refusal with data was answered; anything else (refused,
    // reset, an HTTP refusal of the upgrade, which the SDK's WebSocket cannot read) was not.
    const unanswered = !timedOut && !message.startsWith('CONNECT_ERROR');
    if (c.fc === fc) scheduleReconnect(c, unanswered);
    return;
  }
  if (c.fc !== fc) return fc.close();
  c.alive = true;
  c.attempts = 0;
  if (restartAt !== 0 && c.backAt === 0) c.backAt = Date.now();
  // What it handled is acked again at once (the server's ledger was lost with the process).
  c.own.acked = 0;
  c.room.acked = 0;
  checkCaught(c);
}

let tick = 0;
function ackTick() {
  const slot = tick++ % ACK_SLOTS;
  for (let i = slot; i < clients.length; i += ACK_SLOTS) {
    const c = clients[i];
    if (!c.alive) continue;
    const acks = {};
    let any = false;
    if (c.own.contig > c.own.acked) {
      acks[c.inbox] = c.own.acked = c.own.contig;
      any = true;
    }
    if (c.room.contig > c.room.acked) {
      acks[ROOM] = c.room.acked = c.room.contig;
      any = true;
    }
    if (any) c.fc?.sendRaw('42' + JSON.stringify(['ack', { acks }]));
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

serve({
  /** Connects `count` clients from `startIndex`, `concurrency` at a time; each then lives on its own. */
  async connect(args) {
    cfg = args;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const t0 = performance.now();
    for (let j = 0; j < cfg.count; j++) {
      const idx = cfg.startIndex + j;
      const sub = `bench-${idx}`;
      clients.push({
        idx,
        fc: null,
        alive: false,
        inbox: `user:${sub}`,
        room: track(),
        own: track(),
        attempts: 0,
        retryAfterMs: 0,
        timer: null,
        backAt: 0,
        caughtAt: 0,
        needRoom: 0,
        needOwn: 0,
        token: signJwt({ sub, tenant: cfg.tenant, channels: [ROOM], exp }, cfg.secret),
      });
    }
    let next = 0;
    const lane = async () => {
      while (next < clients.length) {
        const c = clients[next++];
        await attempt(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(cfg.concurrency, clients.length) }, lane));
    if (ackTimer === null) ackTimer = setInterval(ackTick, cfg.ackIntervalMs / ACK_SLOTS);
    return { connected: clients.filter((c) => c.alive).length, ms: performance.now() - t0 };
  },

  /** The server is up again at `at`: from now on, back and caught-up times count (heads: at the kill). */
  restarted({ at, roomHead, inboxHeads }) {
    restartAt = at;
    for (const c of clients) {
      c.needRoom = roomHead;
      c.needOwn = inboxHeads[c.idx - cfg.startIndex] ?? 0;
      if (c.alive) c.backAt = Date.now(); // reconnected before this call arrived
      checkCaught(c);
    }
    return { clients: clients.length };
  },

  progress() {
    let alive = 0;
    let back = 0;
    let caught = 0;
    for (const c of clients) {
      if (c.alive) alive++;
      if (c.backAt !== 0) back++;
      if (c.caughtAt !== 0) caught++;
    }
    return { alive, back, caught, clients: clients.length };
  },

  /** Times since the restart (ms, sorted) and the final check of every (client, channel, offset). */
  report({ roomHead, inboxHeads }) {
    const back = [];
    const caught = [];
    let lost = 0;
    let dupOffsets = 0;
    let checked = 0;
    const check = (t, head) => {
      for (let o = t.base + 1; o <= head; o++) {
        checked++;
        const n = o < t.counts.length ? t.counts[o] : 0;
        if (n === 0) lost++;
        else if (n > 1) dupOffsets++;
      }
    };
    let lostNotBack = 0;
    for (const c of clients) {
      if (c.backAt !== 0) back.push(c.backAt - restartAt);
      if (c.caughtAt !== 0) caught.push(c.caughtAt - restartAt);
      const before = lost;
      check(c.room, roomHead);
      check(c.own, inboxHeads[c.idx - cfg.startIndex] ?? 0);
      // A client that never came back cannot have what was sent after the kill: counted apart.
      if (!c.alive) lostNotBack += lost - before;
    }
    back.sort((a, b) => a - b);
    caught.sort((a, b) => a - b);
    const summary = (xs) => ({ n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: xs.at(-1) ?? null });
    return {
      clients: clients.length,
      back: summary(back),
      caught: summary(caught),
      backSorted: back,
      caughtSorted: caught,
      lost,
      lostNotBack,
      dupOffsets,
      checked,
    };
  },

  usage() {
    return { ...usage(), counters: { ...counters, errors: counters.errors.slice(0, 10) } };
  },

  exit() {
    stopping = true;
    if (ackTimer !== null) clearInterval(ackTimer);
    for (const c of clients) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.alive = false;
      c.fc?.close();
    }
  },
});
