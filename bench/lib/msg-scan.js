/**
 * Fast paths for the loader's hottest work: reading a `42["msg",{...}]` frame without JSON.parse.
 * Tether batches many messages per frame under load, so parsing whole frames would make the loader,
 * not the server, the bottleneck on a 2-core box. Both scans return -1 on anything unexpected (the
 * caller then parses JSON), and the loader cross-checks a sample of frames against JSON.parse.
 *
 * - `scanMsgFrame` (generic): the i-th `"offset":`, `"step":` and `"sentAt":` of the frame belong to
 *   message i (each message has exactly one of each, in any key order). Three substring passes.
 * - `scanBenchFrame` (layout): each bench payload is `{"seq":Q,"step":S,"sentAt":T,"pad":"x…"}`
 *   and the envelope goes on with `,"ts":N,"offset":N}` (Tether's field order, which the plain
 *   Socket.IO baseline copies). The only `q` byte of a message is the one in `"seq"`, found with a
 *   memchr-speed byte search; the rest is read at known places and checked byte by byte.
 */

const MSG_PREFIX = Buffer.from('42["msg",');
const OFFSET = Buffer.from('"offset":');
const STEP = Buffer.from('"step":');
const SENT_AT = Buffer.from('"sentAt":');

const Q = 0x71; // 'q'
const SEQ_TAIL = Buffer.from('q":');
const STEP_SEP = Buffer.from(',"step":');
const SENT_AT_SEP = Buffer.from(',"sentAt":');
const PAD_SEP = Buffer.from(',"pad":"');
const TS_SEP = Buffer.from('"},"ts":');
const OFFSET_SEP = Buffer.from(',"offset":');

/** Reusable output of the scans (grown on demand). */
export class ScanOut {
  constructor(capacity = 64) {
    this.offsets = new Float64Array(capacity);
    this.steps = new Float64Array(capacity);
    this.sentAts = new Float64Array(capacity);
  }

  grow() {
    const n = this.offsets.length * 2;
    for (const k of ['offsets', 'steps', 'sentAts']) {
      const next = new Float64Array(n);
      next.set(this[k]);
      this[k] = next;
    }
  }
}

/** End of the last integer read by `readInt`. */
let end = 0;

/** Reads the unsigned integer starting at `i` (at most 15 digits); NaN when there is none. */
function readInt(buf, i) {
  let n = 0;
  const start = i;
  for (; i < buf.length; i++) {
    const b = buf[i];
    if (b < 0x30 || b > 0x39) break;
    n = n * 10 + (b - 0x30);
  }
  end = i;
  const digits = i - start;
  return digits > 0 && digits < 16 ? n : NaN;
}

function matchAt(buf, i, bytes) {
  if (i + bytes.length > buf.length) return false;
  for (let k = 0; k < bytes.length; k++) if (buf[i + k] !== bytes[k]) return false;
  return true;
}

function isMsgFrameOf(buf, channelNeedle) {
  return (
    buf.length > MSG_PREFIX.length &&
    buf.compare(MSG_PREFIX, 0, MSG_PREFIX.length, 0, MSG_PREFIX.length) === 0 &&
    buf.indexOf(channelNeedle, MSG_PREFIX.length) !== -1
  );
}

/** Fills `out[key]` with the i-th occurrence of `needle`'s integer value; returns the count or -1. */
function collect(buf, needle, from, out, key) {
  let count = 0;
  let i = buf.indexOf(needle, from);
  while (i !== -1) {
    const v = readInt(buf, i + needle.length);
    if (Number.isNaN(v)) return -1;
    if (count >= out[key].length) out.grow();
    out[key][count++] = v;
    i = buf.indexOf(needle, i + needle.length);
  }
  return count;
}

/**
 * @param {Buffer} buf a whole Engine.IO text frame
 * @param {Buffer} channelNeedle `"channel":"<name>"` as bytes
 * @param {ScanOut} out
 * @returns {number} messages found, or -1 when the frame must be parsed the slow way
 */
export function scanMsgFrame(buf, channelNeedle, out) {
  if (!isMsgFrameOf(buf, channelNeedle)) return -1;
  const n = collect(buf, OFFSET, MSG_PREFIX.length, out, 'offsets');
  if (n <= 0) return -1;
  if (collect(buf, STEP, MSG_PREFIX.length, out, 'steps') !== n) return -1;
  if (collect(buf, SENT_AT, MSG_PREFIX.length, out, 'sentAts') !== n) return -1;
  return n;
}

/**
 * The layout scan (see the top of the file); same contract as `scanMsgFrame`.
 * @param {Buffer} buf
 * @param {Buffer} channelNeedle
 * @param {ScanOut} out
 * @param {number} padLength bytes of `pad` in every payload
 */
export function scanBenchFrame(buf, channelNeedle, out, padLength) {
  if (!isMsgFrameOf(buf, channelNeedle)) return -1;
  let n = 0;
  let p = buf.indexOf(Q, MSG_PREFIX.length);
  while (p !== -1) {
    if (!matchAt(buf, p, SEQ_TAIL)) return -1;
    if (Number.isNaN(readInt(buf, p + SEQ_TAIL.length)) || !matchAt(buf, end, STEP_SEP)) return -1;
    const step = readInt(buf, end + STEP_SEP.length);
    if (Number.isNaN(step) || !matchAt(buf, end, SENT_AT_SEP)) return -1;
    const sentAt = readInt(buf, end + SENT_AT_SEP.length);
    if (Number.isNaN(sentAt) || !matchAt(buf, end, PAD_SEP)) return -1;
    const padEnd = end + PAD_SEP.length + padLength;
    if (!matchAt(buf, padEnd, TS_SEP)) return -1;
    if (Number.isNaN(readInt(buf, padEnd + TS_SEP.length)) || !matchAt(buf, end, OFFSET_SEP)) return -1;
    const offset = readInt(buf, end + OFFSET_SEP.length);
    if (Number.isNaN(offset) || buf[end] !== 0x7d) return -1; // '}' closes the envelope
    if (n >= out.offsets.length) out.grow();
    out.offsets[n] = offset;
    out.steps[n] = step;
    out.sentAts[n] = sentAt;
    n++;
    p = buf.indexOf(Q, end);
  }
  return n > 0 ? n : -1;
}
