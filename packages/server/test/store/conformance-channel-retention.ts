/** Conformance: retention per channel pattern (`retention.perChannel`), by count and by age. */
import { describe, expect, it } from 'vitest';
import { T0, input, inputs, type ConformanceContext } from './conformance-fixtures.js';

const MINUTE = 60_000;

export function describeChannelRetention({ make, reopen }: ConformanceContext): void {
  describe('retention per channel', () => {
    const perChannel = [
      { channels: 'chat:*', maxMessages: 3 },
      { channels: 'chat:lobby', maxMessages: 1 }, // shadowed: the first match wins
      { channels: 'trip:*', maxAgeMs: MINUTE },
    ];

    it('applies the first matching rule to the channel of every tenant; others keep the global values', async () => {
      const store = await make({ maxMessages: 5, maxAgeMs: 10 * MINUTE, perChannel });
      for (const stream of ['acme/chat:lobby', 'beta/chat:7', 'acme/news', 'acme/trip:1']) {
        await store.append(stream, inputs('m', 8));
      }
      expect(await store.info('acme/chat:lobby')).toMatchObject({ head: 8, first: 6 });
      expect(await store.info('beta/chat:7')).toMatchObject({ head: 8, first: 6 });
      expect(await store.info('acme/news')).toMatchObject({ head: 8, first: 4 });
      // trip:* sets only maxAgeMs: its count is the global one.
      expect(await store.info('acme/trip:1')).toMatchObject({ head: 8, first: 4 });
    });

    it('prunes each stream at the age of its own rule', async () => {
      const store = await make({ maxAgeMs: 10 * MINUTE, perChannel });
      await store.append('acme/trip:1', inputs('t', 2, { ts: T0 }));
      await store.append('acme/news', inputs('n', 2, { ts: T0 }));
      await store.append('acme/chat:1', [input('c', { ts: T0 })]);
      expect(await store.prune(T0 + MINUTE + 1)).toBe(2);
      expect(await store.info('acme/trip:1')).toMatchObject({ head: 2, first: 3 });
      expect(await store.info('acme/news')).toMatchObject({ head: 2, first: 1 });
      expect(await store.info('acme/chat:1')).toMatchObject({ head: 1, first: 1 });
      expect(await store.prune(T0 + 10 * MINUTE + 1)).toBe(3);
      expect(await store.info('acme/news')).toMatchObject({ head: 2, first: 3 });
    });

    it('refuses a rule with a bad bound or no pattern', async () => {
      await expect(async () => make({ perChannel: [{ channels: 'a:*', maxMessages: 0 }] })).rejects.toThrow(
        /retention\.perChannel\[0\]\.maxMessages/,
      );
      await expect(async () => make({ perChannel: [{ channels: '', maxAgeMs: 1 }] })).rejects.toThrow(
        /retention\.perChannel\[0\]\.channels/,
      );
    });

    if (reopen) {
      it('applies the rules of the reopened store to data written before', async () => {
        const store = await make({ maxMessages: 10 });
        await store.append('acme/chat:1', inputs('a', 6));
        const again = await reopen(store, { maxMessages: 10, perChannel: [{ channels: 'chat:*', maxMessages: 2 }] });
        await again.append('acme/chat:1', [input('b')]);
        expect(await again.info('acme/chat:1')).toMatchObject({ head: 7, first: 6 });
      });
    }
  });
}
