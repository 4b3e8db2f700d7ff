/**
 * The PresenceStore conformance suite: every engine runs it (memory here, Redis in the cluster
 * tests), through the interface only. What it pins: status and channel presence are per user, not
 * per device; a write is owned by its `connId`, so a late removal of a replaced entry does nothing;
 * a dead node's entries are purged once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEntry, MembershipKey, PresenceStore } from '../../src/presence/types.js';

export type MakePresenceStore = () => PresenceStore | Promise<PresenceStore>;

const T = 'acme';

function device(sub: string, deviceId: string, over: Partial<DeviceEntry> = {}): DeviceEntry {
  return {
    tenant: T,
    sub,
    deviceId,
    connId: `c-${deviceId}`,
    nodeId: 'n1',
    status: 'online',
    lastActiveAt: 1000,
    ...over,
  };
}

function member(channel: string, sub: string, deviceId: string, over: Partial<MembershipKey> = {}): MembershipKey {
  return { tenant: T, channel, sub, deviceId, connId: `c-${deviceId}`, nodeId: 'n1', ...over };
}

const bySub = <M extends { sub: string }>(list: M[]): M[] => [...list].sort((a, b) => a.sub.localeCompare(b.sub));

export function describePresenceStore(name: string, makeStore: MakePresenceStore): void {
  describe(`PresenceStore conformance: ${name}`, () => {
    const open: PresenceStore[] = [];
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((store) => store.close()));
    });
    const fresh = async (): Promise<PresenceStore> => {
      const store = await makeStore();
      open.push(store);
      return store;
    };

    it('a user comes online with its first device and goes offline with its last, not per device', async () => {
      const store = await fresh();
      expect(await store.upsertDevice(device('ann', 'phone'))).toEqual({
        first: true,
        status: 'online',
        previous: 'offline',
      });
      expect((await store.upsertDevice(device('ann', 'laptop'))).first).toBe(false);
      expect(await store.removeDevice(T, 'ann', 'phone', 'c-phone')).toMatchObject({ removed: true, last: false });
      expect(await store.statusOf(T, 'ann')).toBe('online');
      expect(await store.removeDevice(T, 'ann', 'laptop', 'c-laptop')).toEqual({
        removed: true,
        last: true,
        status: 'offline',
        previous: 'online',
      });
      expect(await store.statusOf(T, 'ann')).toBe('offline');
      expect(await store.devicesOf(T, 'ann')).toEqual([]);
    });

    it('a device reconnected under a new connId: the old connection’s late removal changes nothing', async () => {
      const store = await fresh();
      await store.upsertDevice(device('ann', 'phone', { connId: 'old' }));
      expect((await store.upsertDevice(device('ann', 'phone', { connId: 'new' }))).first).toBe(false);
      expect(await store.removeDevice(T, 'ann', 'phone', 'old')).toMatchObject({ removed: false, last: false });
      expect((await store.devicesOf(T, 'ann')).map((d) => d.connId)).toEqual(['new']);

      await store.join(member('room:a', 'ann', 'phone', { connId: 'old' }));
      expect(await store.join(member('room:a', 'ann', 'phone', { connId: 'new' }))).toEqual({ first: false });
      expect(await store.leave(member('room:a', 'ann', 'phone', { connId: 'old' }))).toEqual({
        removed: false,
        last: false,
      });
      expect(await store.count(T, 'room:a')).toBe(1);
      expect(await store.leave(member('room:a', 'ann', 'phone', { connId: 'new' }))).toEqual({
        removed: true,
        last: true,
      });
      expect(await store.count(T, 'room:a')).toBe(0);
    });

    it('status over devices: busy > online > idle > away', async () => {
      const store = await fresh();
      await store.upsertDevice(device('ann', 'a', { status: 'away' }));
      expect(await store.statusOf(T, 'ann')).toBe('away');
      expect(await store.upsertDevice(device('ann', 'b', { status: 'idle' }))).toEqual({
        first: false,
        status: 'idle',
        previous: 'away',
      });
      expect((await store.upsertDevice(device('ann', 'c', { status: 'online' }))).status).toBe('online');
      expect((await store.upsertDevice(device('ann', 'a', { status: 'busy' }))).status).toBe('busy');
      expect(await store.removeDevice(T, 'ann', 'a', 'c-a')).toMatchObject({ status: 'online', previous: 'busy' });
      expect((await store.devicesOf(T, 'ann')).map((d) => d.status).sort()).toEqual(['idle', 'online']);
    });

    it('channel members are users with their device count and status; count is users', async () => {
      const store = await fresh();
      await store.upsertDevice(device('ann', 'phone', { status: 'busy' }));
      await store.upsertDevice(device('ann', 'laptop'));
      await store.upsertDevice(device('bob', 'web', { status: 'idle' }));
      expect(await store.join(member('room:a', 'ann', 'phone'))).toEqual({ first: true });
      expect(await store.join(member('room:a', 'ann', 'laptop'))).toEqual({ first: false });
      expect(await store.join(member('room:a', 'bob', 'web'))).toEqual({ first: true });
      expect(await store.join(member('room:b', 'bob', 'web'))).toEqual({ first: true });
      expect(bySub(await store.members(T, 'room:a'))).toEqual([
        { sub: 'ann', status: 'busy', devices: 2 },
        { sub: 'bob', status: 'idle', devices: 1 },
      ]);
      expect(await store.count(T, 'room:a')).toBe(2);
      expect(await store.leave(member('room:a', 'ann', 'phone'))).toEqual({ removed: true, last: false });
      expect(await store.count(T, 'room:a')).toBe(2);
      expect(await store.leave(member('room:a', 'ann', 'laptop'))).toEqual({ removed: true, last: true });
      expect((await store.members(T, 'room:a')).map((m) => m.sub)).toEqual(['bob']);
      expect(await store.members(T, 'room:none')).toEqual([]);
      expect(await store.count(T, 'room:none')).toBe(0);
    });

    it('channelsOf names the channels where the user has a device', async () => {
      const store = await fresh();
      await store.join(member('room:a', 'ann', 'phone'));
      await store.join(member('room:b', 'ann', 'laptop'));
      await store.join(member('room:b', 'ann', 'phone'));
      expect((await store.channelsOf(T, 'ann')).sort()).toEqual(['room:a', 'room:b']);
      await store.leave(member('room:b', 'ann', 'phone'));
      expect((await store.channelsOf(T, 'ann')).sort()).toEqual(['room:a', 'room:b']);
      await store.leave(member('room:b', 'ann', 'laptop'));
      expect(await store.channelsOf(T, 'ann')).toEqual(['room:a']);
      expect(await store.channelsOf(T, 'nobody')).toEqual([]);
    });

    it('tenants are apart', async () => {
      const store = await fresh();
      await store.upsertDevice(device('ann', 'phone'));
      await store.join(member('room:a', 'ann', 'phone'));
      expect(await store.statusOf('other', 'ann')).toBe('offline');
      expect(await store.count('other', 'room:a')).toBe(0);
      expect(await store.channelsOf('other', 'ann')).toEqual([]);
    });

    it('purgeNode drops a node’s entries and returns its users once; a second caller gets []', async () => {
      const store = await fresh();
      // ann: only on n1; bob: on n1 and n2 (stays online and in room:a).
      await store.upsertDevice(device('ann', 'a1'));
      await store.join(member('room:a', 'ann', 'a1'));
      await store.join(member('room:b', 'ann', 'a1'));
      await store.upsertDevice(device('bob', 'b1'));
      await store.upsertDevice(device('bob', 'b2', { nodeId: 'n2' }));
      await store.join(member('room:a', 'bob', 'b1'));
      await store.join(member('room:a', 'bob', 'b2', { nodeId: 'n2' }));
      await store.join(member('room:c', 'bob', 'b1'));

      const [first, second] = await Promise.all([store.purgeNode('n1'), store.purgeNode('n1')]);
      const purged = first!.length > 0 ? first! : second!;
      expect(first!.length === 0 || second!.length === 0).toBe(true);
      const ann = purged.find((u) => u.sub === 'ann');
      expect(ann).toMatchObject({ tenant: T, offline: true });
      expect([...ann!.leftChannels].sort()).toEqual(['room:a', 'room:b']);
      const bob = purged.find((u) => u.sub === 'bob');
      expect(bob).toMatchObject({ tenant: T, offline: false, leftChannels: ['room:c'] });
      expect(await store.purgeNode('n1')).toEqual([]);

      expect(await store.statusOf(T, 'ann')).toBe('offline');
      expect(await store.statusOf(T, 'bob')).toBe('online');
      expect(await store.members(T, 'room:a')).toEqual([{ sub: 'bob', status: 'online', devices: 1 }]);
      expect(await store.count(T, 'room:b')).toBe(0);
      expect(await store.channelsOf(T, 'bob')).toEqual(['room:a']);
    });

    it('restore adds a node’s entries without duplicating or overwriting what is there', async () => {
      const store = await fresh();
      await store.upsertDevice(device('ann', 'phone', { status: 'busy', connId: 'now' }));
      await store.join(member('room:a', 'ann', 'phone', { connId: 'now' }));
      await store.restore(
        [device('ann', 'phone', { connId: 'stale' }), device('bob', 'web')],
        [
          member('room:a', 'ann', 'phone', { connId: 'stale' }),
          member('room:a', 'bob', 'web'),
          member('room:a', 'bob', 'web'),
        ],
      );
      expect(bySub(await store.members(T, 'room:a'))).toEqual([
        { sub: 'ann', status: 'busy', devices: 1 },
        { sub: 'bob', status: 'online', devices: 1 },
      ]);
      expect((await store.devicesOf(T, 'ann')).map((d) => d.connId)).toEqual(['now']);
      // Restoring twice is harmless.
      await store.restore([device('bob', 'web')], [member('room:a', 'bob', 'web')]);
      expect(await store.count(T, 'room:a')).toBe(2);
      expect(await store.devicesOf(T, 'bob')).toHaveLength(1);
    });
  });
}
