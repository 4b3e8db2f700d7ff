import { describe, expect, it } from 'vitest';
import { AckLedger, type LedgerSlotHolder } from '../../src/delivery/ack-ledger.js';
import { StatsCounter } from '../../src/delivery/stats.js';

function holder(): LedgerSlotHolder {
  return { ledgerSlot: -1, ledgerGen: 0 };
}

describe('AckLedger keyed by slots', () => {
  it('counts what a device newly covers, once, and answers per user over all devices', () => {
    const stats = new StatsCounter();
    const ledger = new AckLedger({ stats });
    const phone = holder();
    expect(ledger.recordFor(phone, 't/room', 'u1', 'phone', 3)).toBe(3);
    expect(ledger.recordFor(phone, 't/room', 'u1', 'phone', 3)).toBe(0);
    expect(ledger.recordFor(phone, 't/room', 'u1', 'phone', 2)).toBe(0);
    expect(ledger.recordFor(phone, 't/room', 'u1', 'phone', 7)).toBe(4);
    // Another device of the same user counts its own; the user's answer is the highest of all.
    expect(ledger.record('t/room', 'u1', 'laptop', 5)).toBe(5);
    expect(ledger.ackedByUser('t/room', 'u1')).toBe(7);
    expect(ledger.ackedByUser('t/room', 'u2')).toBe(0);
    // The string path and the slot path reach the same entry.
    expect(ledger.record('t/room', 'u1', 'phone', 7)).toBe(0);
    expect(ledger.recordFor(holder(), 't/room', 'u1', 'laptop', 6)).toBe(1);
    expect(stats.values.acked).toBe(3 + 4 + 5 + 1);
  });

  it('ignores acks that cover nothing, NaN and negatives included', () => {
    const ledger = new AckLedger({ maxEntries: 2 });
    const h = holder();
    for (const offset of [0, -1, Number.NaN]) expect(ledger.recordFor(h, 't/a', 'u', 'd', offset)).toBe(0);
    expect(h.ledgerSlot).toBe(-1);
    expect(ledger.ackedByUser('t/a', 'u')).toBe(0);
  });

  it('takes a resume position as acked without counting it, so a repeated ack counts nothing', () => {
    const stats = new StatsCounter();
    const ledger = new AckLedger({ stats });
    ledger.resumed('t/room', 'u1', 'phone', 10);
    expect(ledger.ackedByUser('t/room', 'u1')).toBe(10);
    expect(ledger.recordFor(holder(), 't/room', 'u1', 'phone', 10)).toBe(0);
    expect(ledger.recordFor(holder(), 't/room', 'u1', 'phone', 12)).toBe(2);
    ledger.resumed('t/room', 'u1', 'phone', 4); // never back
    expect(ledger.record('t/room', 'u1', 'phone', 12)).toBe(0);
    expect(stats.values.acked).toBe(2);
  });

  it('evicts the least recently raised first; a holder whose slot was evicted and reused finds its own again', () => {
    const ledger = new AckLedger({ maxEntries: 3 });
    const first = holder();
    ledger.recordFor(first, 't/c0', 'u', 'd', 1);
    for (let i = 1; i < 3; i++) ledger.record(`t/c${i}`, 'u', 'd', 1);
    ledger.recordFor(first, 't/c0', 'u', 'd', 2); // raised: now the most recent
    ledger.record('t/c3', 'u', 'd', 1); // pushes out c1, the least recently raised
    expect(ledger.ackedByUser('t/c1', 'u')).toBe(0);
    expect(ledger.ackedByUser('t/c0', 'u')).toBe(2);
    for (let i = 4; i < 10; i++) ledger.record(`t/c${i}`, 'u', 'd', 1); // c0 goes, its slot is reused
    expect(ledger.ackedByUser('t/c0', 'u')).toBe(0);
    const reusedBy = ['t/c7', 't/c8', 't/c9'].map((s) => ledger.ackedByUser(s, 'u'));
    // The stale holder writes to a fresh entry of its own key, never into another channel's.
    expect(ledger.recordFor(first, 't/c0', 'u', 'd', 5)).toBe(5);
    expect(ledger.ackedByUser('t/c0', 'u')).toBe(5);
    expect(reusedBy).toEqual([1, 1, 1]);
    expect(ledger.ackedByUser('t/c9', 'u')).toBe(1);
    expect(ledger.ackedByUser('t/c8', 'u')).toBe(1);
  });

  it('stays bounded in bytes: long keys push the least recently raised out', () => {
    const ledger = new AckLedger({ maxEntries: 1_000_000, maxBytes: 10_000 });
    const long = 'x'.repeat(200);
    const holders = Array.from({ length: 100 }, holder);
    for (let i = 0; i < 100; i++) ledger.recordFor(holders[i]!, `t/${long}${i}`, 'u', 'd', 1);
    expect(ledger.ackedByUser(`t/${long}0`, 'u')).toBe(0);
    expect(ledger.ackedByUser(`t/${long}99`, 'u')).toBe(1);
    expect(ledger.ackedByUser(`t/${long}70`, 'u')).toBe(0);
    expect(ledger.recordFor(holders[99]!, `t/${long}99`, 'u', 'd', 3)).toBe(2);
  });

  it('keeps a user entry evicted under its devices correct: the device re-links to a fresh one', () => {
    // Device keys are longer than user keys, so a byte budget evicts in both maps at different times.
    const ledger = new AckLedger({ maxEntries: 2 });
    const a = holder();
    ledger.recordFor(a, 't/a', 'u', 'd', 1);
    ledger.record('t/b', 'u', 'd', 1);
    ledger.record('t/c', 'u', 'd', 1); // t/a goes from both maps
    expect(ledger.ackedByUser('t/a', 'u')).toBe(0);
    expect(ledger.recordFor(a, 't/a', 'u', 'd', 4)).toBe(4);
    expect(ledger.ackedByUser('t/a', 'u')).toBe(4);
    expect(ledger.ackedByUser('t/b', 'u')).toBe(0);
    expect(ledger.ackedByUser('t/c', 'u')).toBe(1);
  });

  it('holds 200,000 entries per map by default and grows its tables as needed', () => {
    const ledger = new AckLedger();
    for (let i = 0; i < 200_001; i++) ledger.record('t/room', `u${i}`, 'd', i + 1);
    expect(ledger.ackedByUser('t/room', 'u0')).toBe(0);
    expect(ledger.ackedByUser('t/room', 'u1')).toBe(2);
    expect(ledger.ackedByUser('t/room', 'u200000')).toBe(200_001);
  });
});
