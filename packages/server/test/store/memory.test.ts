import { describe, expect, it } from 'vitest';
import { MemoryLogStore } from '../../src/store/memory-store.js';
import { UNWRITTEN_EPOCH } from '../../src/store/types.js';
import { runLogStoreConformance } from './conformance.js';
import { T0, input } from './conformance-fixtures.js';

runLogStoreConformance('memory', (retention) => new MemoryLogStore(retention), {
  storedStreams: (store) => (store instanceof MemoryLogStore ? store.streamCount : NaN),
});

describe('MemoryLogStore', () => {
  it('is named memory', () => {
    expect(new MemoryLogStore().engine).toBe('memory');
  });

  it('starts new epochs in a new instance (nothing survives)', async () => {
    const one = new MemoryLogStore();
    await one.append('s', [input('a', { ts: T0 })]);
    const { epoch } = await one.info('s');
    await one.close();
    const two = new MemoryLogStore();
    expect(await two.info('s')).toEqual({ epoch: UNWRITTEN_EPOCH, head: 0, first: 1 });
    const [again] = await two.append('s', [input('a', { ts: T0 })]);
    expect(again?.epoch).not.toBe(epoch);
    await two.close();
  });
});
