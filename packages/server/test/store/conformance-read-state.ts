/**
 * The read-state part of the conformance suite (presence/types.ts `ReadStateStore`): read positions
 * that never move back, named versus all channels, users and tenants apart, lastSeen that never
 * moves back, and both across a reopen for the durable engines (sqlite: the same file; redis: a new
 * connection).
 */
import { describe, expect, it } from 'vitest';
import type { ReadStateStore } from '../../src/presence/types.js';
import type { LogStore } from '../../src/store/types.js';
import { T0, type ConformanceContext } from './conformance-fixtures.js';

function readStateOf(store: LogStore): ReadStateStore {
  if (!store.readState) throw new Error(`the ${store.engine} store has no read state`);
  return store.readState;
}

export function describeReadState({ make, reopen }: ConformanceContext): void {
  describe('read state', () => {
    it('markRead is monotonic: a lower or equal offset changes nothing and answers the position', async () => {
      const state = readStateOf(await make());
      expect(await state.markRead('t', 'u', 'room:a', 5)).toBe(5);
      expect(await state.markRead('t', 'u', 'room:a', 3)).toBe(5);
      expect(await state.markRead('t', 'u', 'room:a', 5)).toBe(5);
      expect(await state.markRead('t', 'u', 'room:a', 9)).toBe(9);
      expect(await state.readPositions('t', 'u', ['room:a'])).toEqual(new Map([['room:a', 9]]));
    });

    it('concurrent marks end at the highest offset', async () => {
      const state = readStateOf(await make());
      const offsets = [4, 17, 2, 11, 17, 9, 1, 16];
      const answers = await Promise.all(offsets.map((offset) => state.markRead('t', 'u', 'c', offset)));
      for (const [i, answer] of answers.entries()) expect(answer).toBeGreaterThanOrEqual(offsets[i]!);
      expect((await state.readPositions('t', 'u', ['c'])).get('c')).toBe(17);
    });

    it('readPositions: named channels (0 where never read) or every channel read in; users and tenants apart', async () => {
      const state = readStateOf(await make());
      await state.markRead('t', 'u', 'room:a', 3);
      await state.markRead('t', 'u', 'room:b', 7);
      await state.markRead('t', 'other', 'room:a', 100);
      await state.markRead('t2', 'u', 'room:c', 42);
      expect(await state.readPositions('t', 'u', ['room:b', 'room:z'])).toEqual(
        new Map([
          ['room:b', 7],
          ['room:z', 0],
        ]),
      );
      expect(await state.readPositions('t', 'u')).toEqual(
        new Map([
          ['room:a', 3],
          ['room:b', 7],
        ]),
      );
      expect(await state.readPositions('t', 'u', [])).toEqual(new Map());
      expect(await state.readPositions('t', 'nobody')).toEqual(new Map());
      expect(await state.readPositions('t2', 'u')).toEqual(new Map([['room:c', 42]]));
    });

    it('lastSeen is null until touched and never moves back', async () => {
      const state = readStateOf(await make());
      expect(await state.lastSeen('t', 'u')).toBeNull();
      await state.touchLastSeen('t', 'u', T0);
      await state.touchLastSeen('t', 'u', T0 - 60_000);
      expect(await state.lastSeen('t', 'u')).toBe(T0);
      await state.touchLastSeen('t', 'u', T0 + 1234);
      expect(await state.lastSeen('t', 'u')).toBe(T0 + 1234);
      expect(await state.lastSeen('t', 'other')).toBeNull();
      expect(await state.lastSeen('t2', 'u')).toBeNull();
    });

    if (reopen) {
      it('read positions and lastSeen survive a reopen', async () => {
        const store = await make();
        const before = readStateOf(store);
        await before.markRead('t', 'u', 'room:a', 12);
        await before.markRead('t', 'u', 'room:b', 4);
        await before.touchLastSeen('t', 'u', T0 + 5);
        const after = readStateOf(await reopen(store));
        expect(await after.readPositions('t', 'u')).toEqual(
          new Map([
            ['room:a', 12],
            ['room:b', 4],
          ]),
        );
        expect(await after.lastSeen('t', 'u')).toBe(T0 + 5);
        expect(await after.markRead('t', 'u', 'room:a', 6)).toBe(12);
      });
    }
  });
}
