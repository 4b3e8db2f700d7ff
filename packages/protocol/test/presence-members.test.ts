/**
 * The presence member's two wire forms (a sub alone for one `online` device, else the whole member):
 * writing then reading gives the member back, the short form is used exactly when it can be, and
 * the frame guard accepts both forms and nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEVICE_STATUSES,
  isPresenceChannelFrame,
  isPresenceMemberEntry,
  presenceEntryOf,
  presenceMemberOf,
  type PresenceMember,
} from '@tether/protocol';

const sub = fc.string({ minLength: 1, maxLength: 256 });
const member: fc.Arbitrary<PresenceMember> = fc.record({
  sub,
  status: fc.constantFrom(...DEVICE_STATUSES),
  // Mostly 1, the case the short form is for.
  devices: fc.oneof(fc.constant(1), fc.nat({ max: 50 })),
});

describe('presence member entries', () => {
  it('reading a written entry gives the member back', () => {
    fc.assert(
      fc.property(member, (m) => {
        expect(presenceMemberOf(presenceEntryOf(m))).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('the sub alone exactly for one online device; the entry is valid either way', () => {
    fc.assert(
      fc.property(member, (m) => {
        const entry = presenceEntryOf(m);
        expect(typeof entry === 'string').toBe(m.status === 'online' && m.devices === 1);
        expect(isPresenceMemberEntry(entry)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a frame of written entries reads back as the members, in order', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 40 }), fc.array(member, { maxLength: 10 }), (members, join) => {
        const wire = JSON.parse(
          JSON.stringify({
            channel: 'room:1',
            count: members.length,
            members: members.map(presenceEntryOf),
            join: join.map(presenceEntryOf),
          }),
        ) as unknown;
        expect(isPresenceChannelFrame(wire)).toBe(true);
        if (!isPresenceChannelFrame(wire)) return;
        expect(wire.members?.map(presenceMemberOf)).toEqual(members);
        expect(wire.join?.map(presenceMemberOf)).toEqual(join);
      }),
      { numRuns: 500 },
    );
  });

  it('the guard refuses entries that are neither form', () => {
    const bad: unknown[] = [
      '',
      'x'.repeat(257),
      7,
      null,
      ['ann'],
      { sub: 'ann' },
      { sub: 'ann', status: 'offline', devices: 1 },
      { sub: 'ann', status: 'online', devices: -1 },
      { sub: 'ann', status: 'online', devices: 1, extra: true },
    ];
    for (const entry of bad) {
      expect(isPresenceMemberEntry(entry)).toBe(false);
      expect(isPresenceChannelFrame({ channel: 'room:1', count: 1, members: [entry] })).toBe(false);
      expect(isPresenceChannelFrame({ channel: 'room:1', count: 1, join: ['bob', entry] })).toBe(false);
    }
    expect(
      isPresenceChannelFrame({
        channel: 'room:1',
        count: 2,
        members: ['ann', { sub: 'bob', status: 'busy', devices: 2 }],
      }),
    ).toBe(true);
  });
});
