import { describe, expect, it } from 'vitest';
import { MemoryLogStore } from '../../src/store/memory-store.js';
import { runLogStoreConformance } from './conformance.js';
import { T0, input } from './conformance-fixtures.js';

runLogStoreConformance('memory', (retention) => new MemoryLogStore(retention));

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
    expect(await two.info('s')).toEqual({ epoch: expect.any(String), head: 0, first: 1 });
    expect((await two.info('s')).epoch).not.toBe(epoch);
    await two.close();
  });
});
