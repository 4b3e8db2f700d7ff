/**
 * Edits and deletes (docs/presence.md, "Edits and deletes"): an edit or a delete is a new message
 * that supersedes the earlier ones of the same message id (scoped `supersededBy`). A client that
 * replays, or pages history with `relevant`, gets the final state; a live client gets every change
 * as it happens; both end with the same conversation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestBed, waitUntil } from '@tether/testing';
import type { RelevanceRules } from '@tether/server';
import type { Message } from '@tether/client';
import { Clients, Recorder, fast } from './helpers.js';

const bed = new TestBed();
const clients = new Clients();
afterEach(async () => {
  await clients.closeAll();
  await bed.close();
});

const ROOM = 'room:chat';
/** The pattern of docs/presence.md: versions of one message (same `data.id`) supersede each other. */
const rules: RelevanceRules = {
  'message:created': { supersededBy: ['message:edited', 'message:deleted'], scope: 'id' },
  'message:edited': { supersededBy: ['message:edited', 'message:deleted'], scope: 'id' },
};

type Chat = { id: number; text?: string };

/** What a chat app does with each message: the conversation by message id. */
function fold(messages: readonly Message[]): Map<number, string> {
  const state = new Map<number, string>();
  for (const message of messages) {
    const { id, text } = message.data as Chat;
    if (message.type === 'message:deleted') state.delete(id);
    else state.set(id, text ?? '');
  }
  return state;
}

const conversation: [string, Chat][] = [
  ['message:created', { id: 1, text: 'hi' }], // 1: edited twice
  ['message:created', { id: 2, text: 'yo' }], // 2: deleted at 5
  ['message:edited', { id: 1, text: 'hello' }], // 3
  ['message:created', { id: 3, text: 'bye' }], // 4
  ['message:deleted', { id: 2 }], // 5
  ['message:edited', { id: 1, text: 'hello!' }], // 6
];
const FINAL = new Map([
  [1, 'hello!'],
  [3, 'bye'],
]);

describe('edits and deletes supersede earlier versions by message id', () => {
  it('live clients get every change; replay and history(relevant) give the final state', async () => {
    await bed.start({ relevance: rules });
    const token = await bed.server.token({ sub: 'reader', channels: ['room:*'] });
    const liveClient = clients.make({ url: bed.server.url, token, ...fast });
    const live = new Recorder();
    const liveSub = liveClient.subscribe(ROOM, live.handler);
    await liveClient.connect();
    await waitUntil(() => (liveSub.state === 'subscribed' ? true : undefined));

    for (const [type, data] of conversation) await bed.server.server.publish({ channel: ROOM, type, data });
    await waitUntil(() => (live.handled.length === 6 ? true : undefined));
    expect(live.offsets()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fold(live.handled)).toEqual(FINAL);

    // A client arriving later replays from the start: superseded versions are not handed to it.
    const replayClient = clients.make({ url: bed.server.url, token, ...fast });
    const replayed = new Recorder();
    replayClient.subscribe(ROOM, replayed.handler, { since: { offset: 0 } });
    await replayClient.connect();
    await waitUntil(() => (replayed.offsets().at(-1) === 6 ? true : undefined));
    expect(replayed.offsets()).toEqual([4, 5, 6]);
    expect(fold(replayed.handled)).toEqual(FINAL);

    // History pages newest first: with `relevant`, only what still counts; without, everything.
    const pages: number[][] = [];
    let before: number | undefined;
    for (;;) {
      const page = await replayClient.history(ROOM, { limit: 2, relevant: true, ...(before ? { before } : {}) });
      pages.push(page.messages.map((m) => m.offset));
      if (page.next === null) break;
      before = page.next;
    }
    expect(pages).toEqual([[6, 5], [4], []]);
    const all = await replayClient.history(ROOM);
    expect(all.messages.map((m) => m.offset)).toEqual([6, 5, 4, 3, 2, 1]);
    const relevantAll = await replayClient.history(ROOM, { relevant: true });
    expect(fold([...relevantAll.messages].reverse())).toEqual(FINAL);
  });

  it('GET /v1/history refuses a relevant that is not true or false; nothing is read', async () => {
    await bed.start({ relevance: rules });
    const token = await bed.server.token({ sub: 'reader', channels: ['room:*'] });
    const res = await fetch(`${bed.server.url}/v1/history?channel=${ROOM}&relevant=yes`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
  });
});
