import { describe, expect, it } from 'vitest';
import { ScanOut, scanBenchFrame, scanMsgFrame } from '../lib/msg-scan.js';
import { PAD_LENGTH, payload } from '../lib/publisher.js';

const needle = Buffer.from('"channel":"bench:fanout"');

function frame(messages: object[], extra: object = {}): Buffer {
  const body = { channel: 'bench:fanout', epoch: 'e1', messages, ...extra };
  return Buffer.from('42' + JSON.stringify(['msg', body]));
}

// The loader reads msg frames without JSON.parse; it must agree with JSON.parse or step aside.
describe('bench msg frame scan', () => {
  it('reads offsets, steps and send times in any key order, many messages per frame', () => {
    const out = new ScanOut(2);
    const messages = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0
        ? {
            id: `m${i}`,
            offset: 1000 + i,
            type: 't',
            data: { step: 3, seq: i, sentAt: 1795305921948 + i, pad: 'x' },
            ts: 1,
          }
        : {
            id: `m${i}`,
            type: 't',
            data: { pad: '"offset"', sentAt: 1795305921948 + i, step: 3 },
            ts: 2,
            offset: 1000 + i,
          },
    );
    const n = scanMsgFrame(frame(messages, { upTo: 1099 }), needle, out);
    expect(n).toBe(100);
    expect(Array.from(out.offsets.subarray(0, n))).toEqual(messages.map((_, i) => 1000 + i));
    expect(Array.from(out.sentAts.subarray(0, n))).toEqual(messages.map((_, i) => 1795305921948 + i));
    expect(new Set(out.steps.subarray(0, n))).toEqual(new Set([3]));
  });

  it('steps aside for other events, other channels and frames it cannot read', () => {
    const out = new ScanOut();
    const ok = { id: 'a', offset: 1, type: 't', data: { step: 0, sentAt: 5 }, ts: 1 };
    expect(
      scanMsgFrame(Buffer.from('42["resync",{"channel":"bench:fanout","epoch":"e","offset":3}]'), needle, out),
    ).toBe(-1);
    expect(scanMsgFrame(Buffer.from('42["msg",{"channel":"user:1","epoch":"e","messages":[]}]'), needle, out)).toBe(-1);
    expect(scanMsgFrame(frame([{ ...ok, data: { sentAt: 5 } }]), needle, out)).toBe(-1);
    expect(scanMsgFrame(frame([{ ...ok, offset: -1 }]), needle, out)).toBe(-1);
    expect(scanMsgFrame(frame([]), needle, out)).toBe(-1);
    expect(scanMsgFrame(frame([ok]), needle, out)).toBe(1);
  });

  it('reads bench payloads by layout, as Tether and the baseline send them, and agrees with JSON', () => {
    const out = new ScanOut(4);
    const messages = Array.from({ length: 300 }, (_, i) => ({
      id: `5f0c7b1e-${i}`,
      type: 'tick',
      data: payload(7, i),
      ts: Date.now(),
      offset: 41 + i,
    }));
    const buf = frame(messages, { upTo: 340 });
    const n = scanBenchFrame(buf, needle, out, PAD_LENGTH);
    expect(n).toBe(300);
    expect(Array.from(out.offsets.subarray(0, n))).toEqual(messages.map((m) => m.offset));
    expect(Array.from(out.sentAts.subarray(0, n))).toEqual(messages.map((m) => m.data.sentAt));
    expect(Array.from(out.steps.subarray(0, n))).toEqual(messages.map(() => 7));
    // The generic scan reads the same frame the same way.
    const generic = new ScanOut();
    expect(scanMsgFrame(buf, needle, generic)).toBe(300);
    expect(Array.from(generic.offsets.subarray(0, n))).toEqual(Array.from(out.offsets.subarray(0, n)));
  });

  it('leaves other layouts to the generic scan', () => {
    const out = new ScanOut();
    const data = payload(1, 2);
    const reordered = frame([{ id: 'a', offset: 9, type: 'tick', data, ts: 1 }]);
    expect(scanBenchFrame(reordered, needle, out, PAD_LENGTH)).toBe(-1);
    expect(scanMsgFrame(reordered, needle, out)).toBe(1);
    const qInId = frame([{ id: 'q1', type: 'tick', data, ts: 1, offset: 9 }]);
    expect(scanBenchFrame(qInId, needle, out, PAD_LENGTH)).toBe(-1);
    const shortPad = frame([{ id: 'a', type: 'tick', data: { ...data, pad: 'x' }, ts: 1, offset: 9 }]);
    expect(scanBenchFrame(shortPad, needle, out, PAD_LENGTH)).toBe(-1);
  });
});
