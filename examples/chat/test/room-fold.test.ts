/**
 * The chat page's fold of a room's events into what it shows (examples/chat/src/room-fold.ts):
 * plain data in, entries out, in any arrival order and with repeats (history and live overlap).
 */
import type { TypedMessage } from '@tether/client';
import { describe, expect, it } from 'vitest';
import type { ChatEvents } from '../src/chat-events.js';
import { foldRoom, headOf, seenBy } from '../src/room-fold.js';

type ChatMessage = TypedMessage<ChatEvents>;
const base = { channel: 'room:general', ts: 0 };
const created = (offset: number, id: string, from: string, text: string): ChatMessage => ({
  ...base,
  id: `p${offset}`,
  offset,
  type: 'message:created',
  data: { id, from, text },
});
const edited = (offset: number, id: string, from: string, at: number, text: string): ChatMessage => ({
  ...base,
  id: `p${offset}`,
  offset,
  type: 'message:edited',
  data: { id, from, at, text },
});
const deleted = (offset: number, id: string, from: string, at: number): ChatMessage => ({
  ...base,
  id: `p${offset}`,
  offset,
  type: 'message:deleted',
  data: { id, from, at },
});
const texts = (messages: ChatMessage[], ...rest: Parameters<typeof foldRoom>[1][]): string[] =>
  foldRoom(messages, ...rest).map((m) => `${m.from}:${m.deleted ? '(deleted)' : m.text}${m.sending ? ' …' : ''}`);

describe('foldRoom', () => {
  it('orders by the original offset, applies each offset once, whatever the arrival order', () => {
    const log = [created(1, 'a', 'alice', 'hi'), created(2, 'b', 'bob', 'yo'), edited(3, 'a', 'alice', 1, 'hi!')];
    expect(texts(log)).toEqual(['alice:hi!', 'bob:yo']);
    expect(texts([...log].reverse())).toEqual(['alice:hi!', 'bob:yo']);
    expect(texts([...log, ...log])).toEqual(['alice:hi!', 'bob:yo']);
    expect(foldRoom(log)[0]).toMatchObject({ msgId: 'a', at: 1, edited: true, deleted: false, sending: false });
  });

  it('the last edit wins; a delete wins over any edit, before or after it in the log', () => {
    const log = [created(1, 'a', 'alice', 'v1'), edited(2, 'a', 'alice', 1, 'v2'), edited(3, 'a', 'alice', 1, 'v3')];
    expect(texts(log)).toEqual(['alice:v3']);
    expect(texts([...log, deleted(4, 'a', 'alice', 1)])).toEqual(['alice:(deleted)']);
    expect(
      texts([created(1, 'a', 'alice', 'v1'), deleted(2, 'a', 'alice', 1), edited(3, 'a', 'alice', 1, 'v3')]),
    ).toEqual(['alice:(deleted)']);
  });

  it('an edit whose original was superseded in replay is placed where the original was', () => {
    // The replay skipped offset 2 (the original of 'b'): its edit at 5 says where it goes.
    const log = [
      created(1, 'a', 'alice', 'first'),
      created(3, 'c', 'carol', 'third'),
      edited(5, 'b', 'bob', 2, 'second'),
    ];
    expect(texts(log)).toEqual(['alice:first', 'bob:second', 'carol:third']);
  });

  it('own messages on their way: sending at the end until acknowledged, then in place, then the channel’s copy', () => {
    const log = [created(1, 'a', 'alice', 'hi')];
    expect(texts(log, [{ msgId: 'm', from: 'bob', text: 'queued' }])).toEqual(['alice:hi', 'bob:queued …']);
    expect(texts(log, [{ msgId: 'm', from: 'bob', text: 'sent', offset: 2 }])).toEqual(['alice:hi', 'bob:sent']);
    // The channel's copy wins over the outgoing entry (one message, not two).
    expect(texts([...log, created(2, 'm', 'bob', 'sent')], [{ msgId: 'm', from: 'bob', text: 'sent' }])).toEqual([
      'alice:hi',
      'bob:sent',
    ]);
  });

  it('skips events that are not chat messages', () => {
    const other = { ...base, id: 'x', offset: 2, type: 'other', data: {} } as unknown as ChatMessage;
    expect(texts([created(1, 'a', 'alice', 'hi'), other])).toEqual(['alice:hi']);
    expect(headOf([created(1, 'a', 'alice', 'hi'), other])).toBe(2);
  });
});

describe('headOf and seenBy', () => {
  it('the head is the highest offset of the channel or of an acknowledged own message; 0 for none', () => {
    expect(headOf([])).toBe(0);
    expect(headOf([created(4, 'a', 'alice', 'hi')], [{ msgId: 'm', from: 'bob', text: 'x', offset: 6 }])).toBe(6);
    expect(headOf([created(4, 'a', 'alice', 'hi')], [{ msgId: 'm', from: 'bob', text: 'x' }])).toBe(4);
  });

  it('each reader shows under the last message their position covers, never under their own', () => {
    const entries = foldRoom([
      created(1, 'a', 'alice', 'one'),
      created(2, 'b', 'bob', 'two'),
      created(3, 'c', 'alice', 'three'),
    ]);
    const seen = seenBy(
      entries,
      new Map([
        ['bob', 3], // read it all: under alice's 'three'
        ['carol', 2], // under bob's 'two'
        ['dave', 0], // read nothing
      ]),
    );
    expect(Object.fromEntries(seen)).toEqual({ c: ['bob'], b: ['carol'] });
    // Alice read up to her own message 3: she shows under bob's 'two', the last one not hers.
    expect(Object.fromEntries(seenBy(entries, new Map([['alice', 3]])))).toEqual({ b: ['alice'] });
  });
});
