/**
 * The server's cost of one ack frame, in process: the frame check (zod `ackFrameSchema` against the
 * hand-written `isAckFrame`) and the ledger write (keys built from strings per ack against the
 * slot a subscription holds). `node bench/tools/ack-cost.js [acks] [old-ack-ledger.js]` after
 * `npm run build`; the optional second argument is the built ack-ledger.js of an older checkout,
 * measured the same way.
 */
import { ackFrameSchema, isAckFrame } from '@tether/protocol';
import { AckLedger } from '../../packages/server/dist/delivery/ack-ledger.js';

const N = Number(process.argv[2] ?? 1_000_000);
const USERS = 5000;
const frames = Array.from({ length: USERS }, (_, i) => JSON.parse(`{"acks":{"bench:fanout":${i + 1}}}`));

function time(label, fn) {
  fn(Math.min(N, 100_000)); // warm up
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  fn(N);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  const heap = process.memoryUsage().heapUsed - heap0;
  console.log(
    `${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/ack  (heap grew ${(heap / N).toFixed(1)} B/ack before GC)`,
  );
  return ns;
}

let sink = 0;
const zod = time('check: zod ackFrameSchema.safeParse', (n) => {
  for (let i = 0; i < n; i++) if (ackFrameSchema.safeParse(frames[i % USERS]).success) sink++;
});
const guard = time('check: isAckFrame', (n) => {
  for (let i = 0; i < n; i++) if (isAckFrame(frames[i % USERS])) sink++;
});
const subs = Array.from({ length: USERS }, (_, i) => `bench-${i}`);
const devs = Array.from({ length: USERS }, (_, i) => `dev-${i}`);
const byKey = new AckLedger();
const strings = time('ledger: record (keys built per ack)', (n) => {
  for (let i = 0; i < n; i++)
    sink += byKey.record('bench/bench:fanout', `bench-${i % USERS}`, `dev-${i % USERS}`, i + 1);
});
if (process.argv[3]) {
  const { AckLedger: OldLedger } = await import(process.argv[3]);
  const old = new OldLedger();
  time('ledger: record, the older build given', (n) => {
    for (let i = 0; i < n; i++) sink += old.record('bench/bench:fanout', subs[i % USERS], devs[i % USERS], i + 1);
  });
}
const bySlot = new AckLedger();
const holders = Array.from({ length: USERS }, () => ({ ledgerSlot: -1, ledgerGen: 0 }));
const slots = time('ledger: recordFor (the slot a subscription holds)', (n) => {
  for (let i = 0; i < n; i++) {
    const u = i % USERS;
    sink += bySlot.recordFor(holders[u], 'bench/bench:fanout', subs[u], devs[u], i + 1);
  }
});
console.log(
  `check ${(zod / guard).toFixed(1)}× cheaper, ledger ${(strings / slots).toFixed(1)}× cheaper (${sink > 0 ? 'ok' : ''})`,
);
