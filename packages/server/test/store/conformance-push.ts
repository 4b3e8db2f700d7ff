/**
 * The push part of the conformance suite: targets registered per user (rotation, bound, removal),
 * one claim per (message, user), and the due-queue (lease, reschedule, finish), across a reopen
 * for the durable engines.
 */
import { describe, expect, it } from 'vitest';
import type { PushDevice } from '../../src/push/provider.js';
import type { PushDue, PushStore } from '../../src/store/push-types.js';
import type { LogStore } from '../../src/store/types.js';
import { T0, type ConformanceContext } from './conformance-fixtures.js';

function pushOf(store: LogStore): PushStore {
  if (!store.push) throw new Error(`the ${store.engine} store has no push store`);
  return store.push;
}

function device(token: string, extra: Partial<PushDevice> = {}): PushDevice {
  return { tenant: 't', sub: 'u', deviceId: `d-${token}`, provider: 'fcm', token, ...extra };
}

function due(key: string, dueAt: number, extra: Partial<PushDue> = {}): PushDue {
  return {
    key,
    tenant: 't',
    sub: 'u',
    channel: 'user:u',
    epoch: 'e1',
    offset: 1,
    reason: 'offline',
    dueAt,
    attempts: 0,
    done: [],
    ...extra,
  };
}

export function describePush({ make, reopen }: ConformanceContext): void {
  describe('push targets', () => {
    it('registers targets per user, newest first, and keeps users and tenants apart', async () => {
      const push = pushOf(await make());
      await push.registerDevice(device('a'), 10, T0);
      await push.registerDevice(device('b', { provider: 'webpush' }), 10, T0 + 1);
      await push.registerDevice(device('c', { sub: 'other' }), 10, T0 + 2);
      await push.registerDevice(device('d', { tenant: 't2' }), 10, T0 + 3);
      expect((await push.devicesOf('t', 'u')).map((d) => [d.provider, d.token, d.deviceId])).toEqual([
        ['webpush', 'b', 'd-b'],
        ['fcm', 'a', 'd-a'],
      ]);
      expect((await push.devicesOf('t', 'other')).map((d) => d.token)).toEqual(['c']);
      expect((await push.devicesOf('t2', 'u')).map((d) => d.token)).toEqual(['d']);
      expect(await push.devicesOf('t', 'nobody')).toEqual([]);
    });

    it('a device registering a new token for a provider replaces its old one; the same token again refreshes it', async () => {
      const push = pushOf(await make());
      await push.registerDevice(device('old', { deviceId: 'phone' }), 10, T0);
      await push.registerDevice(device('web', { deviceId: 'phone', provider: 'webpush' }), 10, T0 + 1);
      await push.registerDevice(device('new', { deviceId: 'phone' }), 10, T0 + 2);
      expect((await push.devicesOf('t', 'u')).map((d) => d.token)).toEqual(['new', 'web']);
      await push.registerDevice(device('web', { deviceId: 'phone', provider: 'webpush' }), 10, T0 + 3);
      expect((await push.devicesOf('t', 'u')).map((d) => d.token)).toEqual(['web', 'new']);
    });

    it('keeps at most maxPerUser targets: the least recently registered go', async () => {
      const push = pushOf(await make());
      for (let i = 0; i < 3; i++) expect(await push.registerDevice(device(`k${i}`), 3, T0 + i)).toEqual({ evicted: 0 });
      expect(await push.registerDevice(device('k3'), 3, T0 + 3)).toEqual({ evicted: 1 });
      expect((await push.devicesOf('t', 'u')).map((d) => d.token)).toEqual(['k3', 'k2', 'k1']);
    });

    it('unregisters by provider and token, or every target of a device', async () => {
      const push = pushOf(await make());
      await push.registerDevice(device('a', { deviceId: 'phone' }), 10, T0);
      await push.registerDevice(device('b', { deviceId: 'phone', provider: 'webpush' }), 10, T0 + 1);
      await push.registerDevice(device('c', { deviceId: 'laptop' }), 10, T0 + 2);
      expect(await push.unregisterDevices('t', 'u', { provider: 'fcm', token: 'c' })).toBe(1);
      expect(await push.unregisterDevices('t', 'u', { provider: 'webpush', token: 'a' })).toBe(0);
      expect(await push.unregisterDevices('t', 'other', { deviceId: 'phone' })).toBe(0);
      expect(await push.unregisterDevices('t', 'u', { deviceId: 'phone' })).toBe(2);
      expect(await push.devicesOf('t', 'u')).toEqual([]);
    });
  });

  describe('push claims and due-queue', () => {
    it('claims a (message, user) once: a second schedule changes nothing until the claim expires', async () => {
      const push = pushOf(await make());
      expect(await push.schedule(due('k', T0), 60_000, T0)).toBe(true);
      expect(await push.schedule(due('k', T0 - 5, { reason: 'unacked' }), 60_000, T0 + 1)).toBe(false);
      const [taken] = await push.takeDue(T0, 10, T0 + 100);
      expect(taken).toMatchObject({ key: 'k', reason: 'offline', dueAt: T0 + 100 });
      await push.finish('k');
      expect(await push.schedule(due('k', T0), 60_000, T0 + 2)).toBe(false);
    });

    it('concurrent schedules of one key: exactly one wins', async () => {
      const push = pushOf(await make());
      const results = await Promise.all(Array.from({ length: 20 }, () => push.schedule(due('k', T0), 60_000, T0)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('leases due entries oldest first, up to the limit; a leased entry is not due again before the lease ends', async () => {
      const push = pushOf(await make());
      await push.schedule(due('late', T0 + 50), 60_000, T0);
      await push.schedule(due('b', T0 + 2), 60_000, T0);
      await push.schedule(due('a', T0 + 1), 60_000, T0);
      expect(await push.takeDue(T0, 10, T0 + 1000)).toEqual([]);
      expect((await push.takeDue(T0 + 10, 1, T0 + 1000)).map((d) => d.key)).toEqual(['a']);
      expect((await push.takeDue(T0 + 10, 10, T0 + 1000)).map((d) => d.key)).toEqual(['b']);
      expect((await push.takeDue(T0 + 999, 10, T0 + 2000)).map((d) => d.key)).toEqual(['late']);
      // The first lease ran out without a reschedule or finish: a, b are due again (a node died).
      expect((await push.takeDue(T0 + 1000, 10, T0 + 3000)).map((d) => d.key).sort()).toEqual(['a', 'b']);
    });

    it('reschedule keeps the new state; finish removes it; neither revives a finished entry', async () => {
      const push = pushOf(await make());
      await push.schedule(due('k', T0), 60_000, T0);
      const [taken] = await push.takeDue(T0, 10, T0 + 100);
      await push.reschedule({ ...taken!, dueAt: T0 + 20, attempts: 1, done: ['webhook'] });
      expect(await push.takeDue(T0 + 19, 10, T0 + 500)).toEqual([]);
      const [again] = await push.takeDue(T0 + 20, 10, T0 + 500);
      expect(again).toMatchObject({ key: 'k', attempts: 1, done: ['webhook'], dueAt: T0 + 500 });
      await push.finish('k');
      await push.reschedule({ ...again!, dueAt: T0 });
      expect(await push.takeDue(T0 + 10_000, 10, T0 + 20_000)).toEqual([]);
    });

    it('an expired claim can be taken again; pruneClaims forgets expired ones', async () => {
      const push = pushOf(await make());
      expect(await push.schedule(due('k', T0), 1, T0)).toBe(true);
      await push.finish('k');
      // Redis expires the claim by its own clock: wait past the 1 ms expiry.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await push.pruneClaims(T0 + 10);
      expect(await push.schedule(due('k', T0), 60_000, T0 + 10)).toBe(true);
    });
  });

  if (reopen) {
    describe('push state across a reopen', () => {
      it('targets, claims and queued entries survive', async () => {
        const store = await make();
        const push = pushOf(store);
        await push.registerDevice(device('a'), 10, T0);
        await push.schedule(due('queued', T0 + 5), 60_000, T0);
        await push.schedule(due('done', T0), 60_000, T0);
        await push.finish('done');
        const again = pushOf(await reopen(store));
        expect((await again.devicesOf('t', 'u')).map((d) => d.token)).toEqual(['a']);
        expect(await again.schedule(due('done', T0), 60_000, T0 + 1)).toBe(false);
        expect((await again.takeDue(T0 + 5, 10, T0 + 100)).map((d) => d.key)).toEqual(['queued']);
      });
    });
  }
}
