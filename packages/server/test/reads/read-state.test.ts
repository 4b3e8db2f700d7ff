/** The in-memory delivery state a read may touch keeps nothing for a channel that has no log. */
import { describe, expect, it } from 'vitest';
import { MemoryLogStore, UNWRITTEN_EPOCH } from '@tether/server';
import { AppendSignal } from '../../src/delivery/append-signal.js';
import { AckLedger } from '../../src/delivery/ack-ledger.js';
import { ChannelRegistry } from '../../src/delivery/channel-registry.js';

describe('AppendSignal', () => {
  it('leaves no entry once a wait ends by timeout, abort or notify', async () => {
    const signal = new AppendSignal();
    await signal.wait(['a', 'b', 'c'], 0);
    const abort = new AbortController();
    const aborted = signal.wait(['d', 'e'], 60_000, abort.signal);
    const notified = signal.wait(['f', 'g'], 60_000);
    const sharing = signal.wait(['g', 'h'], 60_000);
    expect(signal.waitedStreams).toBe(5);
    abort.abort();
    await aborted;
    signal.notify('g');
    await Promise.all([notified, sharing]);
    expect(signal.waitedStreams).toBe(0);
  });
});

describe('AckLedger', () => {
  it('records nothing for an ack that covers nothing (a never-written channel is capped at head 0)', () => {
    const ledger = new AckLedger({ maxEntries: 10 });
    expect(ledger.record('t/never', 'u', 'd', 0)).toBe(0);
    expect(ledger.ackedByUser('t/never', 'u')).toBe(0);
    expect(ledger.record('t/written', 'u', 'd', 3)).toBe(3);
    expect(ledger.ackedByUser('t/written', 'u')).toBe(3);
  });

  it('stays bounded in bytes too: long keys push the least recently raised out', () => {
    const ledger = new AckLedger({ maxEntries: 1_000_000, maxBytes: 10_000 });
    const long = 'x'.repeat(200);
    for (let i = 0; i < 100; i++) ledger.record(`t/${long}${i}`, 'u', 'd', 1);
    // ~470 bytes an entry: about 20 fit in 10,000 bytes.
    expect(ledger.ackedByUser(`t/${long}0`, 'u')).toBe(0);
    expect(ledger.ackedByUser(`t/${long}99`, 'u')).toBe(1);
    expect(ledger.ackedByUser(`t/${long}85`, 'u')).toBe(1);
    expect(ledger.ackedByUser(`t/${long}70`, 'u')).toBe(0);
    // A raised entry moves to the back, and counts once.
    expect(ledger.record(`t/${long}99`, 'u', 'd', 3)).toBe(2);
  });

  it('stays bounded: the oldest entries go first', () => {
    const ledger = new AckLedger({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) ledger.record(`t/c${i}`, 'u', 'd', 1);
    expect(ledger.ackedByUser('t/c0', 'u')).toBe(0);
    expect(ledger.ackedByUser('t/c9', 'u')).toBe(1);
  });
});

describe('ChannelRegistry', () => {
  it('drops a never-written channel state nobody subscribes to at the next sweep; keeps written idle ones until idle', async () => {
    const store = new MemoryLogStore();
    await store.append('t/written', [{ id: 'a', type: 't', data: 1, ts: Date.now() }]);
    const registry = new ChannelRegistry(store, 16);
    const unwritten = await registry.get('t', 'never');
    const written = await registry.get('t', 'written');
    expect(unwritten.epoch).toBe(UNWRITTEN_EPOCH);
    unwritten.subscribers = 1;
    registry.evictIdle(Date.now(), 60_000, () => false);
    expect(registry.peek('t/never')).toBe(unwritten); // subscribed: kept
    unwritten.subscribers = 0;
    registry.evictIdle(Date.now(), 60_000, () => false);
    expect(registry.peek('t/never')).toBeUndefined();
    expect(registry.peek('t/written')).toBe(written);
    registry.evictIdle(Date.now() + 60_000, 60_000, () => false);
    expect(registry.peek('t/written')).toBeUndefined();
    expect(store.streamCount).toBe(1);
  });
});
